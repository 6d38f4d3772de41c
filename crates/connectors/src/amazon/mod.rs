//! Amazon Selling Partner API connector (being written).
