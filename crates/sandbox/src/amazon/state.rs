//! The sandbox's seller: orders with items, addresses and packages, and how they render in
//! the Orders 2026-01-01 and v0 wire shapes.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

/// Order status; one internal value, spelled per API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Unshipped,
    PartiallyShipped,
    Shipped,
    Canceled,
}

impl Status {
    /// Orders v0 spelling.
    pub fn v0(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Unshipped => "Unshipped",
            Status::PartiallyShipped => "PartiallyShipped",
            Status::Shipped => "Shipped",
            Status::Canceled => "Canceled",
        }
    }

    /// Orders 2026-01-01 `FulfillmentStatus` spelling.
    pub fn v2026(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Unshipped => "UNSHIPPED",
            Status::PartiallyShipped => "PARTIALLY_SHIPPED",
            Status::Shipped => "SHIPPED",
            Status::Canceled => "CANCELLED",
        }
    }

    /// Shipping address and buyer details are only shared once payment is authorized.
    pub fn shares_address(self) -> bool {
        matches!(self, Status::Unshipped | Status::PartiallyShipped | Status::Shipped)
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub item_id: String,
    pub asin: String,
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub quantity_shipped: u32,
    pub unit_price: Decimal,
    /// Tax on all units.
    pub tax: Decimal,
}

#[derive(Debug, Clone)]
pub struct PostalAddress {
    pub name: String,
    pub line1: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub reference_id: String,
    pub carrier: String,
    pub tracking_number: String,
    pub ship_time: Timestamp,
    pub items: Vec<(String, u32)>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub marketplace_id: String,
    pub created: Timestamp,
    pub last_updated: Timestamp,
    pub status: Status,
    /// `true` for FBA (AFN), `false` for merchant-fulfilled (MFN).
    pub fulfilled_by_amazon: bool,
    pub currency: String,
    pub buyer_name: String,
    pub buyer_email: String,
    pub address: PostalAddress,
    pub shipping_price: Decimal,
    pub items: Vec<Item>,
    pub packages: Vec<Package>,
    /// When the sandbox last changed the status (the order lifecycle counts from here).
    pub changed_at: std::time::Instant,
}

impl Order {
    pub fn total(&self) -> Decimal {
        self.items.iter().map(|i| i.unit_price * Decimal::from(i.quantity) + i.tax).sum::<Decimal>()
            + self.shipping_price
    }

    fn money(&self, amount: Decimal) -> Value {
        json!({ "amount": amount.to_string(), "currencyCode": self.currency })
    }

    fn money_v0(&self, amount: Decimal) -> Value {
        json!({ "CurrencyCode": self.currency, "Amount": amount.to_string() })
    }

    /// Orders 2026-01-01 `Order`, with the datasets in `included` (BUYER, RECIPIENT, …).
    pub fn render_2026(&self, included: &[String]) -> Value {
        let has = |name: &str| included.iter().any(|i| i.eq_ignore_ascii_case(name));
        let mut order = Map::new();
        order.insert("orderId".into(), json!(self.id));
        order.insert("createdTime".into(), json!(self.created.to_string()));
        order.insert("lastUpdatedTime".into(), json!(self.last_updated.to_string()));
        order.insert(
            "salesChannel".into(),
            json!({ "channelName": "AMAZON", "marketplaceId": self.marketplace_id, "marketplaceName": "Amazon.com" }),
        );
        if has("BUYER") && self.status.shares_address() {
            order.insert("buyer".into(), json!({ "buyerName": self.buyer_name, "buyerEmail": self.buyer_email }));
        }
        if has("RECIPIENT") && self.status.shares_address() {
            let a = &self.address;
            order.insert(
                "recipient".into(),
                json!({ "deliveryAddress": {
                    "name": a.name, "addressLine1": a.line1, "city": a.city, "stateOrRegion": a.state,
                    "postalCode": a.postal_code, "countryCode": a.country, "phone": a.phone,
                    "addressType": "RESIDENTIAL" } }),
            );
        }
        if has("PROCEEDS") && self.status != Status::Pending {
            order.insert("proceeds".into(), json!({ "grandTotal": self.money(self.total()) }));
        }
        if has("FULFILLMENT") {
            order.insert(
                "fulfillment".into(),
                json!({
                    "fulfillmentStatus": self.status.v2026(),
                    "fulfilledBy": if self.fulfilled_by_amazon { "AMAZON" } else { "MERCHANT" },
                    "fulfillmentServiceLevel": "STANDARD",
                }),
            );
        }
        let items: Vec<Value> = self
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut value = json!({
                    "orderItemId": item.item_id,
                    "quantityOrdered": item.quantity,
                    "product": {
                        "asin": item.asin, "title": item.title, "sellerSku": item.sku,
                        "price": { "unitPrice": self.money(item.unit_price) },
                    },
                });
                if has("PROCEEDS") && self.status != Status::Pending {
                    let shipping = if index == 0 { self.shipping_price } else { Decimal::ZERO };
                    let subtotal = item.unit_price * Decimal::from(item.quantity);
                    value["proceeds"] = json!({
                        "proceedsTotal": self.money(subtotal + item.tax + shipping),
                        "breakdowns": [
                            { "type": "ITEM", "subtotal": self.money(subtotal) },
                            { "type": "SHIPPING", "subtotal": self.money(shipping) },
                            { "type": "TAX", "subtotal": self.money(item.tax) },
                        ],
                    });
                }
                if has("FULFILLMENT") {
                    value["fulfillment"] = json!({
                        "quantityFulfilled": item.quantity_shipped,
                        "quantityUnfulfilled": item.quantity.saturating_sub(item.quantity_shipped),
                    });
                }
                value
            })
            .collect();
        order.insert("orderItems".into(), Value::Array(items));
        if has("PACKAGES") && !self.packages.is_empty() {
            let packages: Vec<Value> = self
                .packages
                .iter()
                .map(|p| {
                    json!({
                        "packageReferenceId": p.reference_id, "carrier": p.carrier,
                        "trackingNumber": p.tracking_number, "shipTime": p.ship_time.to_string(),
                        "packageItems": p.items.iter().map(|(id, q)| json!({"orderItemId": id, "quantity": q})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            order.insert("packages".into(), Value::Array(packages));
        }
        Value::Object(order)
    }

    /// Orders v0 `Order` with the restricted data elements an RDT opened (`buyerInfo`,
    /// `shippingAddress`), once the order is past Pending.
    pub fn render_v0_with(&self, buyer_info: bool, shipping_address: bool) -> Value {
        let mut order = self.render_v0();
        if self.status.shares_address() {
            if buyer_info {
                order["BuyerInfo"] = json!({ "BuyerEmail": self.buyer_email, "BuyerName": self.buyer_name });
            }
            if shipping_address {
                let a = &self.address;
                order["ShippingAddress"] = json!({
                    "Name": a.name, "AddressLine1": a.line1, "City": a.city, "StateOrRegion": a.state,
                    "PostalCode": a.postal_code, "CountryCode": a.country, "Phone": a.phone, "AddressType": "Residential",
                });
            }
        }
        order
    }

    /// Orders v0 `Order` (no restricted data).
    pub fn render_v0(&self) -> Value {
        let shipped: u32 = self.items.iter().map(|i| i.quantity_shipped).sum();
        let ordered: u32 = self.items.iter().map(|i| i.quantity).sum();
        let mut order = json!({
            "AmazonOrderId": self.id,
            "PurchaseDate": self.created.to_string(),
            "LastUpdateDate": self.last_updated.to_string(),
            "OrderStatus": self.status.v0(),
            "FulfillmentChannel": if self.fulfilled_by_amazon { "AFN" } else { "MFN" },
            "SalesChannel": "Amazon.com",
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": ordered - shipped.min(ordered),
            "MarketplaceId": self.marketplace_id,
            "OrderType": "StandardOrder",
            "IsBusinessOrder": false,
            "IsPrime": false,
            "IsReplacementOrder": false,
        });
        if self.status != Status::Pending {
            order["OrderTotal"] = self.money_v0(self.total());
        }
        order
    }

    /// Orders v0 `OrderItem`s.
    pub fn render_v0_items(&self) -> Vec<Value> {
        self.items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut value = json!({
                    "ASIN": item.asin, "SellerSKU": item.sku, "OrderItemId": item.item_id,
                    "Title": item.title, "QuantityOrdered": item.quantity, "QuantityShipped": item.quantity_shipped,
                });
                // While Pending, getOrderItems carries no pricing (documented in the model).
                if self.status != Status::Pending {
                    let shipping = if index == 0 { self.shipping_price } else { Decimal::ZERO };
                    value["ItemPrice"] = self.money_v0(item.unit_price * Decimal::from(item.quantity));
                    value["ItemTax"] = self.money_v0(item.tax);
                    value["ShippingPrice"] = self.money_v0(shipping);
                    value["ShippingTax"] = self.money_v0(Decimal::ZERO);
                    value["PromotionDiscount"] = self.money_v0(Decimal::ZERO);
                }
                value
            })
            .collect()
    }

    /// Orders v0 `OrderAddress`. Without a Restricted Data Token only the non-identifying
    /// part (city, region, postal code, country) is returned.
    pub fn render_v0_address(&self, restricted: bool) -> Value {
        let mut value = json!({ "AmazonOrderId": self.id });
        if self.status.shares_address() {
            let a = &self.address;
            value["ShippingAddress"] = if restricted {
                json!({
                    "Name": a.name, "AddressLine1": a.line1, "City": a.city, "StateOrRegion": a.state,
                    "PostalCode": a.postal_code, "CountryCode": a.country, "Phone": a.phone, "AddressType": "Residential",
                })
            } else {
                json!({ "City": a.city, "StateOrRegion": a.state, "PostalCode": a.postal_code, "CountryCode": a.country })
            };
        }
        value
    }

    /// Orders v0 `OrderBuyerInfo`; the name and email only with a Restricted Data Token.
    pub fn render_v0_buyer(&self, restricted: bool) -> Value {
        let mut value = json!({ "AmazonOrderId": self.id });
        if self.status.shares_address() && restricted {
            value["BuyerEmail"] = json!(self.buyer_email);
            value["BuyerName"] = json!(self.buyer_name);
        }
        value
    }
}

/// Seconds at Amazon's pace a Pending order waits for payment authorization.
pub const PENDING_FOR: f64 = 1800.0;
/// Seconds at Amazon's pace until Amazon ships an Unshipped FBA (AFN) order.
pub const AFN_SHIPS_AFTER: f64 = 4.0 * 3600.0;

impl Orders {
    /// Moves orders along their lifecycle (Pending → Unshipped; FBA orders Unshipped →
    /// Shipped by Amazon); returns the ids of the orders that changed.
    pub fn advance(&mut self, speedup: f64, rng: &mut fastrand::Rng) -> Vec<String> {
        let now = std::time::Instant::now();
        let mut changed = Vec::new();
        for order in self.by_id.values_mut() {
            let age = now.saturating_duration_since(order.changed_at).as_secs_f64() * speedup;
            let next = match order.status {
                Status::Pending if age >= PENDING_FOR => Status::Unshipped,
                Status::Unshipped if order.fulfilled_by_amazon && age >= AFN_SHIPS_AFTER => Status::Shipped,
                _ => continue,
            };
            if next == Status::Shipped {
                let items: Vec<(String, u32)> = order.items.iter().map(|i| (i.item_id.clone(), i.quantity)).collect();
                for item in &mut order.items {
                    item.quantity_shipped = item.quantity;
                }
                order.packages.push(Package {
                    reference_id: (order.packages.len() + 1).to_string(),
                    carrier: "AMZN_US".into(),
                    tracking_number: format!("TBA{:012}", rng.u64(0..1_000_000_000_000)),
                    ship_time: Timestamp::now(),
                    items,
                });
            }
            order.status = next;
            order.last_updated = Timestamp::now();
            order.changed_at = now;
            changed.push(order.id.clone());
        }
        changed
    }
}

/// Every order of the sandbox's seller, by id, with the money events after shipment.
#[derive(Debug, Default)]
pub struct Orders {
    pub by_id: BTreeMap<String, Order>,
    /// Refunded orders and when the refund posted.
    pub refunds: BTreeMap<String, Timestamp>,
    /// Account-level fees (subscription, storage …) not tied to an order.
    pub service_fees: Vec<ServiceFee>,
}

/// A fee Amazon charges the seller outside any order (ServiceFeeEvent).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFee {
    pub posted: Timestamp,
    /// Amazon's FeeType, e.g. `Subscription`, `FBAStorageFee`.
    pub fee_type: String,
    pub reason: String,
    /// Positive amount charged; events carry it negative.
    pub amount: Decimal,
    pub currency: String,
}
