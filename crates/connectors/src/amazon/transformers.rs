//! Wire ↔ canonical. Statuses are mapped explicitly; a value Amazon adds later stays
//! `Unknown` as received rather than being guessed. Errors name the order and the field,
//! never buyer data.

use ferry_model::ids::SystemId;
use ferry_model::{
    Address, AddressRole, AmazonMarketplaceId, AmazonOrderId, Asin, CountryCode, Currency, Customer, CustomerAddress,
    CustomerKind, FulfillmentChannel, Money, Order, OrderLine, OrderStatus, PersonName, Pii, Sku, Timestamp,
};

use super::models::{orders as w, orders_v0 as v0};

/// A wire record that cannot become a canonical one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Amazon order {order_id}: {field}: {problem}")]
pub struct TransformError {
    pub order_id: String,
    /// Path of the field at fault, e.g. `orderItems[0].product.sellerSku`.
    pub field: String,
    pub problem: String,
}

fn err(order_id: &str, field: impl Into<String>, problem: impl Into<String>) -> TransformError {
    TransformError { order_id: order_id.to_owned(), field: field.into(), problem: problem.into() }
}

fn timestamp(order_id: &str, field: &str, value: &str) -> Result<Timestamp, TransformError> {
    value.parse::<Timestamp>().map_err(|_| err(order_id, field, "not an ISO 8601 date-time with offset"))
}

fn money(order_id: &str, field: &str, value: &w::Money) -> Result<Money, TransformError> {
    Money::parse(&value.amount, &value.currency_code).map_err(|e| err(order_id, field, e.to_string()))
}

/// Orders 2026-01-01 `FulfillmentStatus` → canonical status.
pub fn status_2026(value: &str) -> OrderStatus {
    match value {
        "PENDING_AVAILABILITY" => OrderStatus::PendingAvailability,
        "PENDING" => OrderStatus::Pending,
        "UNSHIPPED" => OrderStatus::Unshipped,
        "PARTIALLY_SHIPPED" => OrderStatus::PartiallyShipped,
        "SHIPPED" => OrderStatus::Shipped,
        "CANCELLED" => OrderStatus::Canceled,
        "UNFULFILLABLE" => OrderStatus::Unfulfillable,
        other => OrderStatus::Unknown(other.to_owned()),
    }
}

fn split_name(name: &str) -> PersonName {
    match name.trim().rsplit_once(' ') {
        Some((first, last)) if !first.trim().is_empty() => {
            PersonName { first: Some(Pii::new(first.trim().to_owned())), last: Pii::new(last.to_owned()) }
        }
        _ => PersonName { first: None, last: Pii::new(name.trim().to_owned()) },
    }
}

fn address_2026(order_id: &str, a: &w::CustomerAddress) -> Result<Address, TransformError> {
    let country =
        a.country_code.as_deref().ok_or_else(|| err(order_id, "recipient.deliveryAddress.countryCode", "missing"))?;
    let country =
        CountryCode::new(country).map_err(|e| err(order_id, "recipient.deliveryAddress.countryCode", e.reason()))?;
    let mut address = Address::new(country);
    address.recipient = a.name.clone();
    address.company = a.company_name.clone();
    address.lines = Pii::new(
        [&a.address_line1, &a.address_line2, &a.address_line3]
            .into_iter()
            .flatten()
            .map(|l| l.expose().clone())
            .filter(|l| !l.is_empty())
            .collect(),
    );
    address.city = a.city.clone();
    address.state_or_province = a.state_or_region.clone();
    address.postal_code = a.postal_code.clone();
    address.phone = a.phone.clone();
    Ok(address)
}

/// Sum of one kind of proceeds breakdown on an item (zero when absent).
fn breakdown(
    order_id: &str,
    index: usize,
    item: &w::OrderItem,
    kind: &str,
    zero: Money,
) -> Result<Money, TransformError> {
    let Some(breakdowns) = item.proceeds.as_ref().and_then(|p| p.breakdowns.as_ref()) else {
        return Ok(zero);
    };
    let field = format!("orderItems[{index}].proceeds.breakdowns");
    breakdowns.iter().filter(|b| b.kind == kind).filter_map(|b| b.subtotal.as_ref()).try_fold(zero, |sum, m| {
        let amount = money(order_id, &field, m)?;
        sum.checked_add(&amount).map_err(|e| err(order_id, &field, e.to_string()))
    })
}

/// An Orders 2026-01-01 order → canonical [`Order`]. Needs `includedData` FULFILLMENT (for
/// status and channel); PROCEEDS adds tax, shipping and discounts; BUYER and RECIPIENT add
/// the customer and address when the flow asked for them.
pub fn order_from_2026(order: &w::Order) -> Result<Order, TransformError> {
    let id = order.order_id.as_str();
    let order_id = AmazonOrderId::new(id).map_err(|e| err(id, "orderId", e.reason()))?;
    let fulfillment = order
        .fulfillment
        .as_ref()
        .ok_or_else(|| err(id, "fulfillment", "missing: request includedData FULFILLMENT"))?;
    let channel = match fulfillment.fulfilled_by.as_deref() {
        Some("AMAZON") => FulfillmentChannel::Amazon,
        Some("MERCHANT") | None => FulfillmentChannel::Merchant,
        Some(other) => return Err(err(id, "fulfillment.fulfilledBy", format!("unknown value {other:?}"))),
    };
    let reported_total = order
        .proceeds
        .as_ref()
        .and_then(|p| p.grand_total.as_ref())
        .map(|m| money(id, "proceeds.grandTotal", m))
        .transpose()?;
    let currency: Currency = match &reported_total {
        Some(total) => total.currency(),
        None => order
            .order_items
            .iter()
            .find_map(|i| i.product.price.as_ref().and_then(|p| p.unit_price.as_ref()))
            .map(|m| money(id, "orderItems[].product.price.unitPrice", m).map(|m| m.currency()))
            .transpose()?
            .ok_or_else(|| err(id, "proceeds", "no amount to take the currency from: request includedData PROCEEDS"))?,
    };
    let zero = Money::zero(currency);
    let lines = order
        .order_items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let field = |name: &str| format!("orderItems[{index}].{name}");
            let sku =
                item.product.seller_sku.as_deref().ok_or_else(|| err(id, field("product.sellerSku"), "missing"))?;
            let sku = Sku::new(sku).map_err(|e| err(id, field("product.sellerSku"), e.reason()))?;
            let unit_price = match item.product.price.as_ref().and_then(|p| p.unit_price.as_ref()) {
                Some(m) => money(id, &field("product.price.unitPrice"), m)?,
                None => zero,
            };
            let mut line = OrderLine::new(item.order_item_id.clone(), sku, item.quantity_ordered, unit_price);
            line.asin = item.product.asin.as_deref().and_then(|a| Asin::new(a).ok());
            line.title = item.product.title.clone();
            line.quantity_shipped = item.fulfillment.as_ref().and_then(|f| f.quantity_fulfilled).unwrap_or(0);
            line.item_tax = breakdown(id, index, item, "TAX", zero)?;
            line.shipping_price = breakdown(id, index, item, "SHIPPING", zero)?;
            line.discount = breakdown(id, index, item, "DISCOUNT", zero)?.abs();
            Ok(line)
        })
        .collect::<Result<Vec<_>, TransformError>>()?;
    let address =
        order.recipient.as_ref().and_then(|r| r.delivery_address.as_ref()).map(|a| address_2026(id, a)).transpose()?;
    let buyer = order.buyer.as_ref().map(|b| {
        let kind = match (&b.buyer_name, &b.buyer_company_name) {
            (Some(name), Some(company)) => {
                CustomerKind::PersonAtCompany { person: split_name(name.expose()), company: company.clone() }
            }
            (Some(name), None) => CustomerKind::Person(split_name(name.expose())),
            (None, Some(company)) => CustomerKind::Company { name: company.clone() },
            (None, None) => CustomerKind::Guest,
        };
        let mut customer = Customer::new(kind);
        customer.email = b.buyer_email.clone();
        if let Some(address) = &address {
            customer.addresses.push(CustomerAddress { role: AddressRole::Shipping, address: address.clone() });
        }
        customer
    });
    let marketplace_id = order
        .sales_channel
        .marketplace_id
        .as_deref()
        .map(|m| AmazonMarketplaceId::new(m).map_err(|e| err(id, "salesChannel.marketplaceId", e.reason())))
        .transpose()?;
    let seller_order_id = order.extra.get("orderAliases").and_then(|a| a.as_array()).and_then(|aliases| {
        aliases
            .iter()
            .find(|a| a.get("aliasType").and_then(|t| t.as_str()) == Some("SELLER_ORDER_ID"))
            .and_then(|a| a.get("aliasId")?.as_str().map(str::to_owned))
    });
    Ok(Order {
        id: order_id.record_ref(),
        marketplace_id,
        seller_order_id,
        status: status_2026(&fulfillment.fulfillment_status),
        fulfillment_channel: channel,
        purchased_at: timestamp(id, "createdTime", &order.created_time)?,
        last_updated_at: timestamp(id, "lastUpdatedTime", &order.last_updated_time)?,
        currency,
        buyer,
        shipping_address: address,
        lines,
        reported_total,
    })
}

fn money_v0(order_id: &str, field: &str, value: &Option<v0::Money>, zero: Money) -> Result<Money, TransformError> {
    match value {
        Some(v0::Money { currency_code: Some(code), amount: Some(amount) }) => {
            Money::parse(amount, code).map_err(|e| err(order_id, field, e.to_string()))
        }
        _ => Ok(zero),
    }
}

/// An Orders v0 order with its items (and address / buyer info when the flow may hold them)
/// → canonical [`Order`]: the fallback path.
pub fn order_from_v0(
    order: &v0::Order,
    items: &[v0::OrderItem],
    address: Option<&v0::OrderAddress>,
    buyer: Option<&v0::OrderBuyerInfo>,
) -> Result<Order, TransformError> {
    let id = order.amazon_order_id.as_str();
    let order_id = AmazonOrderId::new(id).map_err(|e| err(id, "AmazonOrderId", e.reason()))?;
    let reported_total = match &order.order_total {
        Some(v0::Money { currency_code: Some(code), amount: Some(amount) }) => {
            Some(Money::parse(amount, code).map_err(|e| err(id, "OrderTotal", e.to_string()))?)
        }
        _ => None,
    };
    let currency = reported_total
        .as_ref()
        .map(Money::currency)
        .or_else(|| {
            items
                .iter()
                .find_map(|i| i.item_price.as_ref()?.currency_code.as_deref().and_then(|c| Currency::from_code(c).ok()))
        })
        .ok_or_else(|| err(id, "OrderTotal", "no amount to take the currency from (order still Pending?)"))?;
    let zero = Money::zero(currency);
    let lines = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let field = |name: &str| format!("OrderItems[{index}].{name}");
            let sku = item.seller_sku.as_deref().ok_or_else(|| err(id, field("SellerSKU"), "missing"))?;
            let sku = Sku::new(sku).map_err(|e| err(id, field("SellerSKU"), e.reason()))?;
            // v0 ItemPrice is the price of all units; the canonical line holds one unit's.
            let item_price = money_v0(id, &field("ItemPrice"), &item.item_price, zero)?;
            let quantity = item.quantity_ordered.max(1);
            let unit = Money::new(item_price.amount() / ferry_model::Decimal::from(quantity), currency);
            let mut line = OrderLine::new(item.order_item_id.clone(), sku, item.quantity_ordered, unit);
            line.asin = Asin::new(&item.asin).ok();
            line.title = item.title.clone();
            line.quantity_shipped = item.quantity_shipped.unwrap_or(0);
            line.item_tax = money_v0(id, &field("ItemTax"), &item.item_tax, zero)?;
            line.shipping_price = money_v0(id, &field("ShippingPrice"), &item.shipping_price, zero)?;
            line.shipping_tax = money_v0(id, &field("ShippingTax"), &item.shipping_tax, zero)?;
            let promotion = money_v0(id, &field("PromotionDiscount"), &item.promotion_discount, zero)?;
            let shipping_discount = money_v0(id, &field("ShippingDiscount"), &item.shipping_discount, zero)?;
            line.discount = promotion
                .checked_add(&shipping_discount)
                .map_err(|e| err(id, field("PromotionDiscount"), e.to_string()))?
                .abs();
            Ok(line)
        })
        .collect::<Result<Vec<_>, TransformError>>()?;
    let shipping_address = match address.and_then(|a| a.shipping_address.as_ref()).or(order.shipping_address.as_ref()) {
        None => None,
        Some(a) => {
            let wire = w::CustomerAddress {
                name: a.name.clone(),
                company_name: a.company_name.clone(),
                address_line1: a.address_line1.clone(),
                address_line2: a.address_line2.clone(),
                address_line3: a.address_line3.clone(),
                city: a.city.clone(),
                state_or_region: a.state_or_region.clone(),
                postal_code: a.postal_code.clone(),
                country_code: a.country_code.clone(),
                phone: a.phone.clone(),
                extra: Pii::default(),
            };
            Some(address_2026(id, &wire).map_err(|e| TransformError {
                field: e.field.replace("recipient.deliveryAddress.countryCode", "ShippingAddress.CountryCode"),
                ..e
            })?)
        }
    };
    let buyer_fields = match (buyer, &order.buyer_info) {
        (Some(b), _) => Some((b.buyer_name.clone(), b.buyer_email.clone())),
        (None, Some(b)) => Some((b.buyer_name.clone(), b.buyer_email.clone())),
        (None, None) => None,
    };
    let buyer = buyer_fields.map(|(name, email)| {
        let kind = match &name {
            Some(name) => CustomerKind::Person(split_name(name.expose())),
            None => CustomerKind::Guest,
        };
        let mut customer = Customer::new(kind);
        customer.email = email;
        if let Some(address) = &shipping_address {
            customer.addresses.push(CustomerAddress { role: AddressRole::Shipping, address: address.clone() });
        }
        customer
    });
    Ok(Order {
        id: order_id.record_ref(),
        marketplace_id: order.marketplace_id.as_deref().and_then(|m| AmazonMarketplaceId::new(m).ok()),
        seller_order_id: order.seller_order_id.clone(),
        status: OrderStatus::from(order.order_status.as_str()),
        fulfillment_channel: match order.fulfillment_channel.as_deref() {
            Some("AFN") => FulfillmentChannel::Amazon,
            _ => FulfillmentChannel::Merchant,
        },
        purchased_at: timestamp(id, "PurchaseDate", &order.purchase_date)?,
        last_updated_at: timestamp(id, "LastUpdateDate", &order.last_update_date)?,
        currency,
        buyer,
        shipping_address,
        lines,
        reported_total,
    })
}

// --- Fulfillment Outbound -------------------------------------------------------------------

use super::models::fulfillment_outbound as fo;
use ferry_model::{AmazonFulfillmentOrderId, AmazonSellerSku, RecordRef, Shipment, ShipmentLine, ShipmentStatus};

/// A canonical order's unshipped lines → an FBA multi-channel fulfilment order with our id
/// (its idempotency key). The flow passes only the lines FBA ships; the order must carry a
/// shipping address.
pub fn fulfillment_request(
    order: &Order,
    id: &AmazonFulfillmentOrderId,
    shipping_speed: &str,
) -> Result<fo::CreateFulfillmentOrderRequest, TransformError> {
    let source = order.id.id();
    let address = order
        .shipping_address
        .as_ref()
        .ok_or_else(|| err(source, "shipping_address", "required for a fulfilment order"))?;
    let lines = address.exposed_lines();
    let line1 = lines.first().ok_or_else(|| err(source, "shipping_address.lines", "has no street line"))?;
    let recipient = address
        .recipient
        .clone()
        .or_else(|| order.buyer.as_ref().and_then(|b| b.exposed_display_name()).map(Pii::new))
        .ok_or_else(|| err(source, "shipping_address.recipient", "no recipient name"))?;
    let postal_code =
        address.postal_code.clone().ok_or_else(|| err(source, "shipping_address.postal_code", "missing"))?;
    let items = order
        .lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.quantity_unshipped() > 0)
        .map(|(index, line)| {
            let sku = AmazonSellerSku::new(line.sku.as_str())
                .map_err(|e| err(source, format!("lines[{index}].sku"), e.reason()))?;
            Ok(fo::CreateFulfillmentOrderItem {
                seller_sku: sku.as_str().to_owned(),
                seller_fulfillment_order_item_id: line.line_id.clone(),
                quantity: line.quantity_unshipped(),
                per_unit_declared_value: Some(fo::Money {
                    currency_code: line.unit_price.currency().code().to_owned(),
                    value: line.unit_price.amount().to_string(),
                }),
                extra: Default::default(),
            })
        })
        .collect::<Result<Vec<_>, TransformError>>()?;
    if items.is_empty() {
        return Err(err(source, "lines", "nothing left to ship"));
    }
    Ok(fo::CreateFulfillmentOrderRequest {
        marketplace_id: order.marketplace_id.as_ref().map(|m| m.as_str().to_owned()),
        seller_fulfillment_order_id: id.as_str().to_owned(),
        displayable_order_id: order.seller_order_id.clone().unwrap_or_else(|| id.as_str().to_owned()),
        displayable_order_date: order.purchased_at.to_string(),
        displayable_order_comment: "Thank you for your order.".into(),
        shipping_speed_category: shipping_speed.to_owned(),
        destination_address: fo::Address {
            name: recipient,
            address_line1: Pii::new(line1.clone()),
            address_line2: lines.get(1).cloned().map(Pii::new),
            address_line3: lines.get(2).cloned().map(Pii::new),
            city: address.city.clone(),
            district_or_county: None,
            state_or_region: address.state_or_province.clone(),
            postal_code,
            country_code: address.country.as_str().to_owned(),
            phone: address.phone.clone(),
        },
        fulfillment_action: Some("Ship".into()),
        fulfillment_policy: Some("FillOrKill".into()),
        items,
        extra: Default::default(),
    })
}

/// `fulfillmentShipmentStatus` → canonical status.
pub fn shipment_status(value: &str) -> ShipmentStatus {
    match value {
        "PENDING" => ShipmentStatus::Pending,
        "SHIPPED" => ShipmentStatus::Shipped,
        "CANCELLED_BY_FULFILLER" | "CANCELLED_BY_SELLER" => ShipmentStatus::Canceled,
        other => ShipmentStatus::Unknown(other.to_owned()),
    }
}

/// The shipments of a fulfilment order (one per Amazon shipment, carrier and tracking from
/// its first package).
pub fn shipments_from_fulfillment(result: &fo::GetFulfillmentOrderResult) -> Result<Vec<Shipment>, TransformError> {
    let source = result.fulfillment_order.seller_fulfillment_order_id.as_str();
    let order_id =
        AmazonFulfillmentOrderId::new(source).map_err(|e| err(source, "sellerFulfillmentOrderId", e.reason()))?;
    let a = &result.fulfillment_order.destination_address;
    let ship_to = CountryCode::new(&a.country_code).ok().map(|country| {
        let mut address = Address::new(country);
        address.recipient = Some(a.name.clone());
        address.lines = Pii::new(
            [Some(&a.address_line1), a.address_line2.as_ref(), a.address_line3.as_ref()]
                .into_iter()
                .flatten()
                .map(|l| l.expose().clone())
                .collect(),
        );
        address.city = a.city.clone();
        address.state_or_province = a.state_or_region.clone();
        address.postal_code = Some(a.postal_code.clone());
        address
    });
    result
        .fulfillment_shipments
        .iter()
        .flatten()
        .enumerate()
        .map(|(index, s)| {
            let field = |name: &str| format!("fulfillmentShipments[{index}].{name}");
            let package = s.fulfillment_shipment_package.as_ref().and_then(|p| p.first());
            let when =
                |value: Option<&String>, name: &str| value.map(|v| timestamp(source, &field(name), v)).transpose();
            let lines = s
                .fulfillment_shipment_item
                .iter()
                .map(|item| {
                    Ok(ShipmentLine {
                        order_line_id: Some(item.seller_fulfillment_order_item_id.clone()),
                        sku: Sku::new(&item.seller_sku)
                            .map_err(|e| err(source, field("fulfillmentShipmentItem.sellerSku"), e.reason()))?,
                        quantity: u32::try_from(item.quantity).unwrap_or(0),
                    })
                })
                .collect::<Result<Vec<_>, TransformError>>()?;
            Ok(Shipment {
                id: RecordRef::new(ferry_model::System::Amazon, "fba_shipment", s.amazon_shipment_id.clone()).ok(),
                order: order_id.record_ref(),
                status: shipment_status(&s.fulfillment_shipment_status),
                carrier: package.map(|p| p.carrier_code.clone()),
                service: None,
                tracking_number: package.and_then(|p| p.tracking_number.clone()),
                shipped_at: when(s.shipping_date.as_ref(), "shippingDate")?,
                estimated_arrival: when(s.estimated_arrival_date.as_ref(), "estimatedArrivalDate")?,
                ship_to: ship_to.clone(),
                lines,
            })
        })
        .collect()
}

// --- FBA inventory ---------------------------------------------------------------------------

use super::models::fba_inventory as inv;
use ferry_model::{InventoryLevel, InventoryLocation};

/// An inventory summary (requested with `details=true`) → stock in Amazon's fulfilment
/// network for `marketplace`.
pub fn inventory_level(
    summary: &inv::InventorySummary,
    marketplace: &AmazonMarketplaceId,
    as_of: Timestamp,
) -> Result<InventoryLevel, TransformError> {
    let sku_text = summary.seller_sku.as_deref().unwrap_or_default();
    let sku = Sku::new(sku_text).map_err(|e| err(sku_text, "sellerSku", e.reason()))?;
    let details = summary
        .inventory_details
        .as_ref()
        .ok_or_else(|| err(sku_text, "inventoryDetails", "missing: request details=true"))?;
    let inbound = details.inbound_working_quantity.unwrap_or(0)
        + details.inbound_shipped_quantity.unwrap_or(0)
        + details.inbound_receiving_quantity.unwrap_or(0);
    let reserved = details.reserved_quantity.as_ref().map_or(0, inv::Total::total);
    let researching = details.researching_quantity.as_ref().map_or(0, inv::Total::total);
    let unfulfillable = details.unfulfillable_quantity.as_ref().map_or(0, inv::Total::total);
    let as_of = summary.last_updated_time.as_deref().and_then(|t| t.parse().ok()).unwrap_or(as_of);
    Ok(InventoryLevel {
        sku,
        location: InventoryLocation::AmazonFulfillment { marketplace_id: Some(marketplace.clone()) },
        available: details.fulfillable_quantity.unwrap_or(0),
        // Units under investigation are not sellable and not lost: held, like reservations.
        reserved: reserved + researching,
        inbound,
        unfulfillable,
        as_of,
    })
}

// --- Finances ----------------------------------------------------------------------------------

use super::models::finances as fin;
use ferry_model::{AmazonSettlementId, SettlementLine, SettlementTransactionType};

/// A Finances `Currency` → Money. The amount is a JSON number; its shortest text form is
/// what Amazon sent, so it is parsed as a decimal from that text.
fn finance_money(at: &str, field: &str, value: &fin::Currency) -> Result<Money, TransformError> {
    let code = value.currency_code.as_deref().ok_or_else(|| err(at, field, "CurrencyCode missing"))?;
    let amount = value.currency_amount.as_ref().ok_or_else(|| err(at, field, "CurrencyAmount missing"))?;
    let text = amount.to_string();
    let decimal = text
        .parse::<ferry_model::Decimal>()
        .or_else(|_| ferry_model::Decimal::from_scientific(&text))
        .map_err(|_| err(at, field, format!("{text} is not a decimal")))?;
    let currency = Currency::from_code(code).map_err(|e| err(at, field, e.to_string()))?;
    Ok(Money::new(decimal.normalize(), currency))
}

/// Shipment, refund and service-fee events → settlement lines of `settlement_id` (the
/// settlement the events' group belongs to). Service fee events carry no date of their own:
/// they are posted at `service_fee_posted_at` (e.g. the group's end). Other event lists are
/// not posted here: they stay in `FinancialEvents::extra` for a posting rule.
pub fn settlement_lines_from_events(
    events: &fin::FinancialEvents,
    settlement_id: &AmazonSettlementId,
    service_fee_posted_at: Timestamp,
) -> Result<Vec<SettlementLine>, TransformError> {
    let mut lines = Vec::new();
    let shipments = events.shipment_event_list.iter().flatten().map(|e| (SettlementTransactionType::Order, e, false));
    let refunds = events.refund_event_list.iter().flatten().map(|e| (SettlementTransactionType::Refund, e, true));
    for (kind, event, adjustment) in shipments.chain(refunds) {
        let at = event.amazon_order_id.as_deref().unwrap_or("(no order)");
        let posted_at = timestamp(at, "PostedDate", event.posted_date.as_deref().unwrap_or_default())?;
        let items = if adjustment { &event.shipment_item_adjustment_list } else { &event.shipment_item_list };
        for item in items.iter().flatten() {
            let sku =
                item.seller_sku.as_deref().map(Sku::new).transpose().map_err(|e| err(at, "SellerSKU", e.reason()))?;
            let (charges, fees) = if adjustment {
                (&item.item_charge_adjustment_list, &item.item_fee_adjustment_list)
            } else {
                (&item.item_charge_list, &item.item_fee_list)
            };
            let amounts = charges
                .iter()
                .flatten()
                .map(|c| ("ItemPrice", c.charge_type.as_deref(), c.charge_amount.as_ref()))
                .chain(fees.iter().flatten().map(|f| ("ItemFees", f.fee_type.as_deref(), f.fee_amount.as_ref())));
            for (amount_type, description, amount) in amounts {
                let Some(amount) = amount else { continue };
                lines.push(SettlementLine {
                    settlement_id: settlement_id.clone(),
                    transaction_type: kind.clone(),
                    amount_type: amount_type.into(),
                    amount_description: description.unwrap_or_default().into(),
                    order_id: event.amazon_order_id.clone(),
                    merchant_order_id: None,
                    adjustment_id: item.order_adjustment_item_id.clone(),
                    shipment_id: None,
                    marketplace_name: event.marketplace_name.clone(),
                    fulfillment_id: None,
                    order_item_code: item.order_item_id.clone(),
                    sku: sku.clone(),
                    quantity: item.quantity_shipped,
                    amount: finance_money(at, amount_type, amount)?,
                    posted_at,
                });
            }
        }
    }
    for event in events.service_fee_event_list.iter().flatten() {
        let at = event.amazon_order_id.as_deref().unwrap_or("(service fee)");
        for fee in event.fee_list.iter().flatten() {
            let Some(amount) = &fee.fee_amount else { continue };
            lines.push(SettlementLine {
                settlement_id: settlement_id.clone(),
                transaction_type: SettlementTransactionType::ServiceFee,
                amount_type: ferry_model::SettlementAmountType::ServiceFee,
                amount_description: fee.fee_type.clone().unwrap_or_default(),
                order_id: event.amazon_order_id.clone(),
                merchant_order_id: None,
                adjustment_id: None,
                shipment_id: None,
                marketplace_name: None,
                fulfillment_id: None,
                order_item_code: None,
                sku: event.seller_sku.as_deref().and_then(|s| Sku::new(s).ok()),
                quantity: None,
                amount: finance_money(at, "FeeList", amount)?,
                posted_at: service_fee_posted_at,
            });
        }
    }
    Ok(lines)
}
