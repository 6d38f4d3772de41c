//! Does the suggestion engine generalise? Lists the vocabulary (`src/suggest/vocab.rs`) was
//! NOT tuned on, written after it was frozen, with the expected answer for every target
//! field decided from the field's meaning before the engine was run on them:
//!
//! - Dynamics SL `SOHeader`, `SOLine`, `ItemSite` (DYNAMICS.md part C), fed from an Amazon
//!   order and an FBA inventory summary;
//! - F&O `WarehousesOnHandV2`, `ReleasedProductsV2`, `CustomersV3` (DYNAMICS.md part B.4), fed
//!   from an FBA inventory summary, a listings item and an Amazon order;
//! - a web store's product and order documents (Clarity-like), fed from a listings item and an
//!   Amazon order; their fields are nested paths.
//!
//! Each target field is one of: `Map` (what an integration user would map; top-1/top-3
//! measured), `Either` (defensible either way: needs a split, a sum or a judgment call; shown,
//! not scored), or, when not listed, no sensible source: abstention expected (no candidate,
//! or only low-confidence ones). The figures are printed and asserted at floors a little under
//! what was measured when this file was written, so a regression fails. System columns (audit
//! stamps, spare user fields, `dataAreaId`) must abstain, each one.

use std::path::Path;

use ferry_mapping::suggest::{Suggestion, TargetField, suggest, target_fields_from_sample};
use serde_json::Value;

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An expected answer. Sources: exact paths; `X*` accepts anything under `X`; `*X` any path
/// ending in `X`.
#[derive(Clone, Copy)]
enum Want {
    Map(&'static [&'static str]),
    Either(&'static [&'static str]),
}
use Want::{Either, Map};

fn accepted(candidate: &str, accept: &[&str]) -> bool {
    accept.iter().any(|a| {
        if let Some(prefix) = a.strip_suffix('*') {
            candidate.starts_with(prefix)
        } else if let Some(suffix) = a.strip_prefix('*') {
            candidate.ends_with(suffix)
        } else {
            candidate == *a
        }
    })
}

struct List {
    name: &'static str,
    source: Value,
    targets: Vec<TargetField>,
    wants: Vec<(&'static str, Want)>,
    /// System columns: each must abstain.
    system: fn(&str) -> bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    mapped: usize,
    top1: usize,
    top3: usize,
    /// Fields with a source that abstained anyway.
    mapped_abstained: usize,
    no_source: usize,
    no_source_system: usize,
    no_source_abstained: usize,
    either: usize,
    all: usize,
    all_abstained: usize,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.mapped += o.mapped;
        self.top1 += o.top1;
        self.top3 += o.top3;
        self.mapped_abstained += o.mapped_abstained;
        self.no_source += o.no_source;
        self.no_source_system += o.no_source_system;
        self.no_source_abstained += o.no_source_abstained;
        self.either += o.either;
        self.all += o.all;
        self.all_abstained += o.all_abstained;
    }

    fn line(&self, name: &str) -> String {
        let pct = |a: usize, b: usize| if b == 0 { 100.0 } else { a as f64 * 100.0 / b as f64 };
        format!(
            "{name}: top-1 {}/{} ({:.0}%), top-3 {}/{} ({:.0}%), abstained on {}/{} fields with a source; \
             abstention on no-source fields {}/{} ({:.0}%; {} of them system columns, {}/{} ({:.0}%) without those); \
             overall abstention rate {}/{} ({:.0}%); {} either-way fields not scored",
            self.top1,
            self.mapped,
            pct(self.top1, self.mapped),
            self.top3,
            self.mapped,
            pct(self.top3, self.mapped),
            self.mapped_abstained,
            self.mapped,
            self.no_source_abstained,
            self.no_source,
            pct(self.no_source_abstained, self.no_source),
            self.no_source_system,
            self.no_source_abstained - self.no_source_system,
            self.no_source - self.no_source_system,
            pct(self.no_source_abstained - self.no_source_system, self.no_source - self.no_source_system),
            self.all_abstained,
            self.all,
            pct(self.all_abstained, self.all),
            self.either,
        )
    }
}

fn top(s: &Suggestion) -> String {
    s.candidates.first().map_or("-".to_owned(), |c| format!("{} ({:?}, {})", c.source, c.confidence, c.score))
}

fn measure(list: &List) -> Figures {
    for (name, _) in &list.wants {
        assert!(list.targets.iter().any(|t| t.name == *name), "{}: no target field {name}", list.name);
    }
    let suggestions = suggest(&list.source, &list.targets);
    let mut f = Figures { all: suggestions.len(), ..Figures::default() };
    for s in &suggestions {
        let ranked: Vec<&str> = s.candidates.iter().map(|c| c.source.as_str()).collect();
        if s.abstained {
            f.all_abstained += 1;
        }
        match list.wants.iter().find(|(name, _)| *name == s.target).map(|(_, w)| *w) {
            Some(Map(accept)) => {
                f.mapped += 1;
                let hit1 = ranked.first().is_some_and(|c| accepted(c, accept));
                f.top1 += usize::from(hit1);
                f.top3 += usize::from(ranked.iter().take(3).any(|c| accepted(c, accept)));
                f.mapped_abstained += usize::from(s.abstained);
                if !hit1 || s.abstained {
                    let what = if hit1 { "right but abstained" } else { "miss" };
                    println!("{}: {}: {what}: top-1 {}, expected {accept:?}", list.name, s.target, top(s));
                }
            }
            Some(Either(accept)) => {
                f.either += 1;
                let hit = ranked.first().is_some_and(|c| accepted(c, accept));
                println!(
                    "{}: {}: either-way ({accept:?}): {} {}",
                    list.name,
                    s.target,
                    if s.abstained {
                        "abstained, top"
                    } else if hit {
                        "suggested"
                    } else {
                        "suggested other"
                    },
                    top(s)
                );
            }
            None => {
                f.no_source += 1;
                let system = (list.system)(&s.target);
                f.no_source_system += usize::from(system);
                f.no_source_abstained += usize::from(s.abstained);
                if system {
                    assert!(
                        s.abstained && s.best().is_none(),
                        "{}: system column {} got {}",
                        list.name,
                        s.target,
                        top(s)
                    );
                } else if !s.abstained {
                    println!("{}: {}: no sensible source, yet suggested {}", list.name, s.target, top(s));
                }
            }
        }
    }
    println!("{}", f.line(list.name));
    f
}

fn no_system(_: &str) -> bool {
    false
}

fn sl_system(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("crtd_")
        || lower.starts_with("lupd_")
        || lower.starts_with("s4future")
        || lower == "noteid"
        || lower.strip_prefix("user").is_some_and(|n| n.parse::<u32>().is_ok())
}

fn fo_system(name: &str) -> bool {
    name == "dataAreaId"
}

fn sl_targets(table: &str) -> Vec<TargetField> {
    sample("sl-tables.json")[table]
        .as_array()
        .unwrap_or_else(|| panic!("sl-tables.json: no {table}"))
        .iter()
        .map(|c| TargetField::from_sql(c["name"].as_str().unwrap_or_default(), c["type"].as_str().unwrap_or_default()))
        .collect()
}

fn fo_targets(file: &str) -> Vec<TargetField> {
    sample(file)["properties"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: no properties"))
        .iter()
        .map(|p| TargetField::from_edm(p["name"].as_str().unwrap_or_default(), p["type"].as_str().unwrap_or_default()))
        .collect()
}

/// Amazon order → SL SOHeader (DYNAMICS.md part C [SL-soheader]).
fn sl_soheader() -> List {
    List {
        name: "Amazon order → SL SOHeader",
        source: sample("amazon-order.json"),
        targets: sl_targets("SOHeader"),
        system: sl_system,
        wants: vec![
            // OrdNbr is Text[15]: the 19-character Amazon order id does not fit; the seller's
            // own order id does.
            ("OrdNbr", Map(&["SellerOrderId"])),
            ("Status", Map(&["OrderStatus"])),
            ("CustOrdNbr", Map(&["AmazonOrderId"])),
            ("OrdDate", Map(&["PurchaseDate"])),
            ("CuryID", Map(&["*CurrencyCode"])),
            ("ShipName", Map(&["ShippingAddress.Name"])),
            ("ShipAddr1", Map(&["ShippingAddress.AddressLine1"])),
            ("ShipAddr2", Map(&["ShippingAddress.AddressLine2"])),
            ("ShipCity", Map(&["ShippingAddress.City"])),
            ("ShipState", Map(&["ShippingAddress.StateOrRegion"])),
            ("ShipZip", Map(&["ShippingAddress.PostalCode"])),
            ("ShipCountry", Map(&["ShippingAddress.CountryCode"])),
            ("ShipPhone", Map(&["ShippingAddress.Phone"])),
            ("BillName", Map(&["BuyerInfo.BuyerName"])),
            ("TotMerch", Map(&["OrderItems[].ItemPrice*"])),
            ("TotOrd", Map(&["OrderTotal*"])),
            ("TotTax", Map(&["OrderItems[].ItemTax*"])),
            ("TotFrt", Map(&["OrderItems[].ShippingPrice*"])),
            ("CuryTotOrd", Map(&["OrderTotal*"])),
            ("CuryTotMerch", Map(&["OrderItems[].ItemPrice*"])),
            ("CustID", Either(&["BuyerInfo*"])),
            ("ShipCustID", Either(&["BuyerInfo*"])),
            ("ShipViaID", Either(&["ShipServiceLevel", "ShipmentServiceLevelCategory"])),
            ("ShipSiteID", Either(&["FulfillmentChannel"])),
            ("Cancelled", Either(&["OrderStatus"])),
            // No source: CpnyID, SOTypeID, CuryRate, ShipAttn, ShiptoID, ShiptoType, the
            // bill-to address (Amazon gives none), TermsID, SlsperID, CancelDate,
            // DateCancelled, CreditHold, AdminHold, InvcNbr, InvcDate, PerPost, audit columns,
            // User1-10, S4Future01-12, NoteId.
        ],
    }
}

/// Amazon order (header and items) → SL SOLine (DYNAMICS.md part C [SL-soline]).
fn sl_soline() -> List {
    List {
        name: "Amazon order → SL SOLine",
        source: sample("amazon-order.json"),
        targets: sl_targets("SOLine"),
        system: sl_system,
        wants: vec![
            ("OrdNbr", Map(&["SellerOrderId"])),
            ("InvtID", Map(&["OrderItems[].SellerSKU"])),
            ("Descr", Map(&["OrderItems[].Title"])),
            ("QtyOrd", Map(&["OrderItems[].QuantityOrdered"])),
            ("QtyShip", Map(&["OrderItems[].QuantityShipped"])),
            ("SlsPrice", Map(&["OrderItems[].ItemPrice*"])),
            ("CurySlsPrice", Map(&["OrderItems[].ItemPrice*"])),
            ("TotOrd", Map(&["OrderItems[].ItemPrice*"])),
            ("CuryTotOrd", Map(&["OrderItems[].ItemPrice*"])),
            ("ReqDate", Map(&["EarliestShipDate", "LatestShipDate"])),
            ("PromDate", Map(&["LatestShipDate", "EarliestShipDate"])),
            ("SiteID", Either(&["FulfillmentChannel"])),
            ("Status", Either(&["OrderStatus"])),
            // No source: CpnyID, LineRef (Text[5]), LineNbr, QtyBO, QtyOpenShip, QtyToInvc,
            // ListPrice, CuryListPrice, UnitDesc, UnitMultDiv, DiscPct, Taxable, TaxCat,
            // ManualPrice, SlsperID.
        ],
    }
}

/// FBA inventory summary → SL ItemSite (DYNAMICS.md part C [SL-itemsite]), for an FBA site.
fn sl_itemsite() -> List {
    List {
        name: "FBA inventory → SL ItemSite",
        source: sample("amazon-fba-inventory-summary.json"),
        targets: sl_targets("ItemSite"),
        system: sl_system,
        wants: vec![
            ("InvtID", Map(&["sellerSku"])),
            ("QtyAvail", Map(&["inventoryDetails.fulfillableQuantity"])),
            ("QtyAlloc", Map(&["inventoryDetails.reservedQuantity.totalReservedQuantity"])),
            ("QtyAllocSO", Map(&["inventoryDetails.reservedQuantity.pendingCustomerOrderQuantity"])),
            ("QtyCustOrd", Map(&["inventoryDetails.reservedQuantity.pendingCustomerOrderQuantity"])),
            ("QtyInTransit", Map(&["inventoryDetails.inboundShippedQuantity"])),
            ("QtyNotAvail", Map(&["inventoryDetails.unfulfillableQuantity.totalUnfulfillableQuantity"])),
            ("QtyOnHand", Either(&["totalQuantity"])),
            // No source: SiteID, QtyOnPO, QtyOnBO, QtyShipNotInv, costs, reorder settings, StkItem.
        ],
    }
}

/// FBA inventory summary → F&O WarehousesOnHandV2 (DYNAMICS.md part B.4).
fn fo_warehouses_on_hand() -> List {
    List {
        name: "FBA inventory → F&O WarehousesOnHandV2",
        source: sample("amazon-fba-inventory-summary.json"),
        targets: fo_targets("fo-warehousesonhandv2-fields.json"),
        system: fo_system,
        wants: vec![
            ("ItemNumber", Map(&["sellerSku"])),
            ("AvailableOnHandQuantity", Map(&["inventoryDetails.fulfillableQuantity"])),
            ("ReservedOnHandQuantity", Map(&["inventoryDetails.reservedQuantity.totalReservedQuantity"])),
            ("ProductName", Map(&["productName"])),
            ("OnHandQuantity", Either(&["totalQuantity"])),
            ("TotalAvailableQuantity", Either(&["inventoryDetails.fulfillableQuantity"])),
            ("OrderedQuantity", Either(&["inventoryDetails.inbound*"])),
            ("OnOrderQuantity", Either(&["inventoryDetails.reservedQuantity.pendingCustomerOrderQuantity"])),
            // No source: dataAreaId, product dimensions, site and warehouse ids,
            // AvailableOrderedQuantity, ReservedOrderedQuantity, AreWarehouseManagementProcessesUsed.
        ],
    }
}

/// Amazon listings item → F&O ReleasedProductsV2 (DYNAMICS.md part B.4; 266 properties).
fn fo_released_products() -> List {
    List {
        name: "Amazon listing → F&O ReleasedProductsV2",
        source: sample("amazon-listings-item.json"),
        targets: fo_targets("fo-releasedproductsv2-fields.json"),
        system: fo_system,
        wants: vec![
            ("ItemNumber", Map(&["sku"])),
            ("ProductNumber", Map(&["sku", "summaries[].asin"])),
            ("SearchName", Map(&["summaries[].itemName"])),
            ("ProductSearchName", Map(&["summaries[].itemName"])),
            ("SalesPrice", Map(&["offers[].price*"])),
            ("AlternativeItemNumber", Either(&["summaries[].asin"])),
            ("CustomsDescription", Either(&["summaries[].itemName"])),
            ("WarehouseMobileDeviceDescriptionLine1", Either(&["summaries[].itemName"])),
            ("SellStartDate", Either(&["summaries[].createdDate"])),
            ("ProductLifecycleStateId", Either(&["summaries[].status"])),
            // No source: everything else, including PurchasePrice (Amazon's price is a sales
            // price), ProductType (Item/Service, not Amazon's product type) and the units.
        ],
    }
}

/// Amazon order's buyer → F&O CustomersV3 (DYNAMICS.md part B.4; 305 properties).
fn fo_customers() -> List {
    const BUYER_NAME: &[&str] = &["BuyerInfo.BuyerName", "ShippingAddress.Name"];
    List {
        name: "Amazon order → F&O CustomersV3",
        source: sample("amazon-order.json"),
        targets: fo_targets("fo-customersv3-fields.json"),
        system: fo_system,
        wants: vec![
            ("AddressCountryRegionId", Map(&["ShippingAddress.CountryCode"])),
            ("AddressCountryRegionISOCode", Map(&["ShippingAddress.CountryCode"])),
            ("AddressCity", Map(&["ShippingAddress.City"])),
            ("AddressZipCode", Map(&["ShippingAddress.PostalCode"])),
            ("AddressState", Map(&["ShippingAddress.StateOrRegion"])),
            ("AddressStreet", Map(&["ShippingAddress.AddressLine1"])),
            ("DeliveryAddressCity", Map(&["ShippingAddress.City"])),
            ("DeliveryAddressCountryRegionId", Map(&["ShippingAddress.CountryCode"])),
            ("DeliveryAddressCountryRegionISOCode", Map(&["ShippingAddress.CountryCode"])),
            ("DeliveryAddressState", Map(&["ShippingAddress.StateOrRegion"])),
            ("DeliveryAddressStreet", Map(&["ShippingAddress.AddressLine1"])),
            ("DeliveryAddressZipCode", Map(&["ShippingAddress.PostalCode"])),
            ("PrimaryContactEmail", Map(&["BuyerInfo.BuyerEmail"])),
            ("PrimaryContactPhone", Map(&["ShippingAddress.Phone"])),
            ("SalesCurrencyCode", Map(&["*CurrencyCode"])),
            ("PersonFirstName", Either(BUYER_NAME)),
            ("PersonLastName", Either(BUYER_NAME)),
            ("OrganizationName", Either(BUYER_NAME)),
            ("NameAlias", Either(BUYER_NAME)),
            ("KnownAs", Either(BUYER_NAME)),
            ("PaymentMethod", Either(&["PaymentMethod"])),
            ("DeliveryMode", Either(&["ShipServiceLevel", "ShipmentServiceLevelCategory"])),
            ("ReceiptEmail", Either(&["BuyerInfo.BuyerEmail"])),
            ("FullPrimaryAddress", Either(&["ShippingAddress"])),
            ("AddressStreetNumber", Either(&["ShippingAddress.AddressLine1"])),
            ("DeliveryAddressStreetNumber", Either(&["ShippingAddress.AddressLine1"])),
            ("AddressDescription", Either(&["ShippingAddress.Name"])),
            ("DeliveryAddressDescription", Either(&["ShippingAddress.Name"])),
            ("PartyCountry", Either(&["ShippingAddress.CountryCode"])),
            ("PartyState", Either(&["ShippingAddress.StateOrRegion"])),
            // No source: everything else, including CustomerAccount (a number sequence),
            // the invoice address (Amazon gives none), counties, tax and bank fields.
        ],
    }
}

/// Amazon listings item → a web store product document.
fn store_product() -> List {
    List {
        name: "Amazon listing → store product",
        source: sample("amazon-listings-item.json"),
        targets: target_fields_from_sample(&sample("store-product.json")),
        system: no_system,
        wants: vec![
            ("customKey", Map(&["sku"])),
            ("name", Map(&["summaries[].itemName"])),
            ("priceBase", Map(&["offers[].price*"])),
            ("stockQuantity", Map(&["fulfillmentAvailability[].quantity"])),
            ("primaryImageFileName", Map(&["summaries[].mainImage.link"])),
            ("shortDescription", Either(&["summaries[].itemName"])),
            ("description", Either(&["summaries[].itemName"])),
            ("isActive", Either(&["summaries[].status"])),
            ("statusKey", Either(&["summaries[].status"])),
            ("priceSale", Either(&["offers[].price*"])),
            ("createdDate", Either(&["summaries[].createdDate"])),
            ("updatedDate", Either(&["summaries[].lastUpdatedDate"])),
            ("categories[].name", Either(&["summaries[].productType"])),
            // No source: id, seoUrl, isVisible, typeKey, manufacturerPartNumber, upc,
            // stockQuantityAllocated, weight, weightUnitOfMeasure, categories, categoryKey.
        ],
    }
}

/// Amazon order → a web store order document (nested contacts, totals, lines).
fn store_order() -> List {
    List {
        name: "Amazon order → store order",
        source: sample("amazon-order.json"),
        targets: target_fields_from_sample(&sample("store-order.json")),
        system: no_system,
        wants: vec![
            ("customKey", Map(&["AmazonOrderId"])),
            ("statusKey", Map(&["OrderStatus"])),
            ("orderDate", Map(&["PurchaseDate"])),
            ("email", Map(&["BuyerInfo.BuyerEmail"])),
            ("billingContact.email1", Map(&["BuyerInfo.BuyerEmail"])),
            ("shippingContact.phone1", Map(&["ShippingAddress.Phone"])),
            ("shippingContact.address.street1", Map(&["ShippingAddress.AddressLine1"])),
            ("shippingContact.address.street2", Map(&["ShippingAddress.AddressLine2"])),
            ("shippingContact.address.city", Map(&["ShippingAddress.City"])),
            ("shippingContact.address.regionCode", Map(&["ShippingAddress.StateOrRegion"])),
            ("shippingContact.address.postalCode", Map(&["ShippingAddress.PostalCode"])),
            ("shippingContact.address.countryCode", Map(&["ShippingAddress.CountryCode"])),
            ("shippingMethod", Map(&["ShipServiceLevel", "ShipmentServiceLevelCategory"])),
            ("totals.shipping", Map(&["OrderItems[].ShippingPrice*"])),
            ("totals.tax", Map(&["OrderItems[].ItemTax*"])),
            ("totals.total", Map(&["OrderTotal*"])),
            ("currencyKey", Map(&["*CurrencyCode"])),
            ("salesItems", Map(&["OrderItems"])),
            ("salesItems[].sku", Map(&["OrderItems[].SellerSKU"])),
            ("salesItems[].name", Map(&["OrderItems[].Title"])),
            ("salesItems[].quantity", Map(&["OrderItems[].QuantityOrdered"])),
            ("salesItems[].total", Map(&["OrderItems[].ItemPrice*"])),
            ("salesItems[].externalLineKey", Map(&["OrderItems[].OrderItemId"])),
            ("orderNumber", Either(&["SellerOrderId", "AmazonOrderId"])),
            ("updatedDate", Either(&["LastUpdateDate"])),
            ("billingContact.firstName", Either(&["BuyerInfo.BuyerName"])),
            ("billingContact.lastName", Either(&["BuyerInfo.BuyerName"])),
            ("billingContact.phone1", Either(&["ShippingAddress.Phone"])),
            ("shippingContact.firstName", Either(&["ShippingAddress.Name"])),
            ("shippingContact.lastName", Either(&["ShippingAddress.Name"])),
            ("shippingContact.email1", Either(&["BuyerInfo.BuyerEmail"])),
            ("totals.subTotal", Either(&["OrderItems[].ItemPrice*"])),
            ("salesItems[].productKey", Either(&["OrderItems[].SellerSKU", "OrderItems[].ASIN"])),
            ("salesItems[].unitCorePrice", Either(&["OrderItems[].ItemPrice*"])),
            ("salesItems[].unitSoldPrice", Either(&["OrderItems[].ItemPrice*"])),
            ("salesItems[].statusKey", Either(&["OrderStatus"])),
            // No source: id, accountKey, the billing address (Amazon gives none), the
            // shipping company, totals.discounts, notes.
        ],
    }
}

/// (list, minimum top-1, minimum top-3, minimum abstentions on the no-source fields,
/// maximum abstentions on fields that have a source).
type Floor = (fn() -> List, usize, usize, usize, usize);

/// Measured with the frozen vocabulary (see the module comment), after two bug fixes the
/// first run found (a score capped at 1 hid the street-number penalty; a path target's
/// parent words did not count against a source about something else). Measured then:
///
/// | list | top-1 | top-3 | no-source abstained | with-source abstained |
/// |---|---|---|---|---|
/// | SL SOHeader | 15/20 | 20/20 | 49/50 | 8/20 |
/// | SL SOLine | 6/11 | 8/11 | 15/15 | 4/11 |
/// | SL ItemSite | 4/7 | 6/7 | 12/12 | 1/7 |
/// | F&O WarehousesOnHandV2 | 3/4 | 3/4 | 11/11 | 2/4 |
/// | F&O ReleasedProductsV2 | 5/5 | 5/5 | 255/256 | 2/5 |
/// | F&O CustomersV3 | 15/15 | 15/15 | 270/275 | 1/15 |
/// | store product | 3/5 | 4/5 | 11/11 | 5/5 |
/// | store order | 15/23 | 22/23 | 12/12 | 4/23 |
/// | all | 66/90 | 83/90 | 635/642 | 27/90 |
///
/// Floors: one hit less for top-1/top-3, 2% (at least one) fewer abstentions where there is
/// no source, one more abstention where there is one.
#[test]
fn suggestions_generalise_to_lists_they_were_not_tuned_on() {
    let floors: [Floor; 8] = [
        (sl_soheader, 14, 19, 48, 9),
        (sl_soline, 5, 7, 14, 5),
        (sl_itemsite, 3, 5, 11, 2),
        (fo_warehouses_on_hand, 2, 2, 10, 3),
        (fo_released_products, 4, 4, 250, 3),
        (fo_customers, 14, 14, 265, 2),
        (store_product, 2, 3, 10, 5),
        (store_order, 14, 21, 11, 5),
    ];
    let mut total = Figures::default();
    let mut failures = Vec::new();
    for (make, top1, top3, abstained, wrongly_abstained) in floors {
        let list = make();
        let f = measure(&list);
        total.add(&f);
        if f.top1 < top1 || f.top3 < top3 || f.no_source_abstained < abstained || f.mapped_abstained > wrongly_abstained
        {
            failures.push(format!(
                "{}: top-1 {} (floor {top1}), top-3 {} (floor {top3}), abstentions where there is no source {} \
                 (floor {abstained}), where there is one {} (ceiling {wrongly_abstained})",
                list.name, f.top1, f.top3, f.no_source_abstained, f.mapped_abstained
            ));
        }
    }
    println!("{}", total.line("all new lists"));
    assert!(failures.is_empty(), "below the floors measured when the lists were written:\n{}", failures.join("\n"));
    assert!(total.top1 >= 63 && total.top3 >= 80, "overall top-1 {}/90, top-3 {}/90", total.top1, total.top3);
    assert!(total.no_source_abstained >= 625, "overall no-source abstentions {}/642", total.no_source_abstained);
}
