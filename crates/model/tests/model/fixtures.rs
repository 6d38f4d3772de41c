//! Fully populated values shared by the tests.

use ferry_model::{
    Address, AddressRole, AmazonOrderId, AmazonSettlementId, Currency, Customer, CustomerAddress, CustomerKind,
    Decimal, FulfillmentChannel, InventoryLevel, InventoryLocation, JournalEntry, JournalLine, Money, Order, OrderLine,
    OrderStatus, PersonName, Pii, Product, RecordRef, ReturnAuthorization, ReturnLine, ReturnStatus, Settlement,
    SettlementLine, SettlementTransactionType, Shipment, ShipmentLine, ShipmentStatus, Sku, SystemId, Timestamp,
};

pub const EMAIL: &str = "q7x4p2m9k1@marketplace.amazon.com";
pub const FIRST: &str = "Wilhelmina";
pub const LAST: &str = "Okonkwo-Vandersloot";
pub const COMPANY: &str = "Zephyrine Widgets GmbH";
pub const PHONE: &str = "+1-206-555-0147";
pub const STREET: &str = "1729 Ramanujan Terrace";
pub const STREET2: &str = "Apartment 42B";
pub const POSTAL: &str = "98109-4321";
pub const RECIPIENT: &str = "Bartholomew Quincey";
pub const COMMENT: &str = "Please call me at home about the broken kettle";

pub fn usd(amount: &str) -> Money {
    Money::parse(amount, "USD").expect("test amount")
}

pub fn money(amount: &str, currency: Currency) -> Money {
    Money::new(amount.parse::<Decimal>().expect("test amount"), currency)
}

pub fn ts(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

pub fn sku(text: &str) -> Sku {
    Sku::new(text).expect("test sku")
}

pub fn order_ref() -> RecordRef {
    AmazonOrderId::new("114-3941689-8772232").expect("test order id").record_ref()
}

pub fn address() -> Address {
    Address {
        recipient: Some(Pii::from(RECIPIENT)),
        company: Some(Pii::from(COMPANY)),
        lines: Pii::new(vec![STREET.to_owned(), STREET2.to_owned()]),
        city: Some("Seattle".to_owned()),
        state_or_province: Some("WA".to_owned()),
        postal_code: Some(Pii::from(POSTAL)),
        country: "US".parse().expect("test country"),
        phone: Some(Pii::from(PHONE)),
    }
}

pub fn customer() -> Customer {
    Customer {
        source: Some(RecordRef::new(ferry_model::System::Clarity, "account", "9001").expect("ref")),
        kind: CustomerKind::PersonAtCompany {
            person: PersonName { first: Some(Pii::from(FIRST)), last: Pii::from(LAST) },
            company: Pii::from(COMPANY),
        },
        email: Some(Pii::from(EMAIL)),
        phone: Some(Pii::from(PHONE)),
        addresses: vec![
            CustomerAddress { role: AddressRole::Billing, address: address() },
            CustomerAddress { role: AddressRole::Shipping, address: Address::new("CA".parse().expect("test country")) },
        ],
    }
}

pub fn order_line(id: &str, quantity: u32, unit: &str) -> OrderLine {
    OrderLine::new(id, sku("MUG-BLUE-12OZ"), quantity, usd(unit))
}

pub fn order() -> Order {
    let mut first = order_line("52986411826454", 2, "19.99");
    first.asin = Some("B07XJ8C8F5".parse().expect("asin"));
    first.title = Some("Blue mug, 12 oz".to_owned());
    first.quantity_shipped = 1;
    first.item_tax = usd("3.20");
    first.shipping_price = usd("4.99");
    first.shipping_tax = usd("0.40");
    first.discount = usd("1.00");
    let mut second = OrderLine::new("52986411826455", sku("TEA-EARL-GREY"), 1, usd("7.50"));
    second.item_tax = usd("0.60");
    Order {
        id: order_ref(),
        marketplace_id: Some("ATVPDKIKX0DER".parse().expect("marketplace")),
        seller_order_id: Some("WEB-10042".to_owned()),
        status: OrderStatus::PartiallyShipped,
        fulfillment_channel: FulfillmentChannel::Amazon,
        purchased_at: ts("2024-05-01T16:00:00Z"),
        last_updated_at: ts("2024-05-02T08:30:15.123Z"),
        currency: Currency::USD,
        buyer: Some(customer()),
        shipping_address: Some(address()),
        lines: vec![first, second],
        reported_total: Some(usd("55.67")),
    }
}

pub fn shipment() -> Shipment {
    Shipment {
        id: Some(RecordRef::new(ferry_model::System::Amazon, "shipment", "DvRjxPnBs").expect("ref")),
        order: order_ref(),
        status: ShipmentStatus::InTransit,
        carrier: Some("UPS".to_owned()),
        service: Some("Ground".to_owned()),
        tracking_number: Some("1Z999AA10123456784".to_owned()),
        shipped_at: Some(ts("2024-05-02T10:00:00Z")),
        estimated_arrival: Some(ts("2024-05-05T18:00:00Z")),
        ship_to: Some(address()),
        lines: vec![
            ShipmentLine { order_line_id: Some("52986411826454".to_owned()), sku: sku("MUG-BLUE-12OZ"), quantity: 1 },
            ShipmentLine { order_line_id: None, sku: sku("TEA-EARL-GREY"), quantity: 1 },
        ],
    }
}

pub fn settlement_line(transaction_type: &str, amount_type: &str, description: &str, amount: &str) -> SettlementLine {
    SettlementLine {
        settlement_id: AmazonSettlementId::new("11796400482").expect("settlement id"),
        transaction_type: SettlementTransactionType::from(transaction_type),
        amount_type: amount_type.into(),
        amount_description: description.to_owned(),
        order_id: Some("114-3941689-8772232".to_owned()),
        merchant_order_id: Some("WEB-10042".to_owned()),
        adjustment_id: None,
        shipment_id: Some("DvRjxPnBs".to_owned()),
        marketplace_name: Some("Amazon.com".to_owned()),
        fulfillment_id: Some("AFN".to_owned()),
        order_item_code: Some("52986411826454".to_owned()),
        sku: Some(sku("MUG-BLUE-12OZ")),
        quantity: Some(2),
        amount: usd(amount),
        posted_at: ts("2024-05-03T07:12:44Z"),
    }
}

pub fn settlement() -> Settlement {
    Settlement {
        settlement_id: AmazonSettlementId::new("11796400482").expect("settlement id"),
        start: ts("2024-04-20T07:00:00Z"),
        end: ts("2024-05-04T07:00:00Z"),
        deposit_date: Some(ts("2024-05-06T07:00:00Z")),
        total: usd("33.51"),
        lines: vec![
            settlement_line("Order", "ItemPrice", "Principal", "39.98"),
            settlement_line("Order", "ItemFees", "Commission", "-6.00"),
            settlement_line("Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.22"),
            settlement_line("Vine Enrollment Fee", "other-transaction", "Vine", "2.75"),
        ],
    }
}

pub fn journal() -> JournalEntry {
    JournalEntry::new(
        "AMZ-SETTLE-11796400482",
        "2024-05-06".parse().expect("date"),
        Some("Amazon settlement 11796400482".to_owned()),
        vec![
            JournalLine::debit("1200", usd("33.51")).with_memo("Amazon receivable"),
            JournalLine::debit("6100", usd("6.00")).with_memo("Commission"),
            JournalLine::debit("6110", usd("3.22")),
            JournalLine::credit("4000", usd("39.98")).with_memo("Principal"),
            JournalLine::credit("4900", usd("2.75")),
        ],
    )
    .expect("balanced journal")
}

pub fn product() -> Product {
    Product {
        sku: sku("MUG-BLUE-12OZ"),
        source: Some(
            RecordRef::new(ferry_model::System::FinanceOperations, "ReleasedProductsV2", "MUG-BLUE-12OZ").expect("ref"),
        ),
        name: "Blue mug, 12 oz".to_owned(),
        description: Some("Stoneware, dishwasher safe".to_owned()),
        asin: Some("B07XJ8C8F5".parse().expect("asin")),
        barcode: Some("0012345678905".to_owned()),
        unit_of_measure: Some("ea".to_owned()),
        list_price: Some(usd("19.99")),
        active: true,
        updated_at: Some(ts("2024-04-01T00:00:00Z")),
    }
}

pub fn inventory_levels() -> Vec<InventoryLevel> {
    vec![
        InventoryLevel {
            sku: sku("MUG-BLUE-12OZ"),
            location: InventoryLocation::AmazonFulfillment {
                marketplace_id: Some("ATVPDKIKX0DER".parse().expect("marketplace")),
            },
            available: 120,
            reserved: 7,
            inbound: 48,
            unfulfillable: 2,
            as_of: ts("2024-05-02T00:00:00Z"),
        },
        InventoryLevel {
            sku: sku("MUG-BLUE-12OZ"),
            location: InventoryLocation::Warehouse { site: Some("1".to_owned()), warehouse: "13".to_owned() },
            available: -3,
            reserved: 0,
            inbound: 0,
            unfulfillable: 0,
            as_of: ts("2024-05-02T00:00:00Z"),
        },
    ]
}

pub fn return_authorization() -> ReturnAuthorization {
    ReturnAuthorization {
        id: RecordRef::new(ferry_model::System::FinanceOperations, "ReturnOrderHeaders", "RMA-000123").expect("ref"),
        rma_number: Some("RMA-000123".to_owned()),
        order: order_ref(),
        status: ReturnStatus::Received,
        created_at: ts("2024-05-10T12:00:00Z"),
        lines: vec![ReturnLine {
            sku: sku("MUG-BLUE-12OZ"),
            order_line_id: Some("52986411826454".to_owned()),
            quantity: 1,
            reason: Some("DEFECTIVE".to_owned()),
            disposition: Some("CUSTOMER_DAMAGED".to_owned()),
            received_at: Some(ts("2024-05-14T09:00:00Z")),
            refund: Some(usd("19.99")),
        }],
        customer_comments: Some(Pii::from(COMMENT)),
    }
}
