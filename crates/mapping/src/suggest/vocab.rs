//! The suggestion engine's vocabulary: synonym groups, ERP column abbreviations, phrases,
//! stop words, the dictionary for splitting glued names, and the system columns no source
//! maps to.
//!
//! FROZEN. These tables were fixed before the generalisation lists in
//! `tests/mapping/suggest_generalise.rs` were written; those lists measure how well the
//! engine does on field lists it was not tuned on. Changing a table to make one of those
//! lists pass defeats the measurement: add a new held-out list instead.

/// Synonym groups: every word in a group stands for the group's first word (the concept).
#[rustfmt::skip]
pub(super) const SYNONYMS: &[&[&str]] = &[
    &["order", "purchase", "salesorder", "so", "requisition"],
    &["id", "number", "no", "nbr", "num", "identifier", "ref", "reference", "key"],
    &["external", "amazon", "marketplace", "channel", "customers"],
    &["date", "datetime", "time", "timestamp", "created", "creation", "dt"],
    &["updated", "update", "modified", "changed", "lastupdate"],
    &["status", "reason", "statuscode", "statecode", "stage"],
    &["customer", "buyer", "purchaser", "client", "contact", "account", "party", "ordering"],
    &["ship", "shipping", "shipto", "delivery", "deliver", "destination", "recipient", "shipment", "freight"],
    &["street", "line", "address1", "line1", "street1", "addressline"],
    &["address", "addresses", "addr"],
    &["total", "grand", "sum"],
    &["amount", "amt", "value"],
    &["currency", "curr", "transactioncurrency", "ccy"],
    &["email", "mail", "emailaddress"],
    &["phone", "telephone", "tel", "mobile", "cell"],
    &["first", "given", "forename"],
    &["last", "family", "surname"],
    &["name", "fullname"],
    &["city", "town", "locality"],
    &["province", "state", "stateorprovince", "region", "county"],
    &["postal", "zip", "postcode", "postalcode", "zipcode"],
    &["country", "countryregion", "nation", "iso"],
    &["quantity", "qty"],
    &["price", "unitprice", "priceperunit"],
    &["sku", "item", "product", "itemnumber", "productnumber", "asin"],
    &["lines", "items", "orderitems", "details", "detail"],
    &["description", "title", "memo", "note"],
    &["tax", "vat"],
    &["available", "fulfillable", "sellable", "availability"],
    &["allocated", "reserved", "committed"],
    &["unavailable", "unfulfillable", "unsellable"],
    &["inbound", "intransit", "incoming"],
    &["warehouse", "site", "whse", "location", "fulfillmentcenter"],
    &["billing", "bill", "billto", "invoice"],
    &["company", "organization", "organisation", "business", "legalentity"],
    &["discount", "promotion", "coupon"],
    &["unit", "uom", "measure"],
    &["active", "enabled"],
    &["cancelled", "canceled", "cancel", "cancellation"],
];

/// ERP column abbreviations (Dynamics SL/GP/NAV, SAP, generic SQL schemas) → words.
/// Multi-word expansions are separated by a space.
#[rustfmt::skip]
pub(super) const ABBREVIATIONS: &[(&str, &str)] = &[
    ("cury", "currency"), ("invt", "inventory"), ("inven", "inventory"), ("invc", "invoice"),
    ("descr", "description"), ("desc", "description"), ("avail", "available"), ("alloc", "allocated"),
    ("ext", "extended"), ("extd", "extended"), ("ord", "order"), ("cust", "customer"),
    ("cpny", "company"), ("cmpny", "company"), ("whs", "warehouse"), ("prc", "price"), ("tot", "total"),
    ("ttl", "total"), ("disc", "discount"), ("dsct", "discount"), ("frt", "freight"), ("stat", "status"),
    ("sts", "status"), ("crtd", "created"), ("lupd", "last updated"), ("upd", "updated"),
    ("req", "requested"), ("reqd", "requested"), ("prom", "promised"), ("sls", "sales"),
    ("slsper", "sales person"), ("merch", "merchandise"), ("attn", "attention"), ("bo", "backorder"),
    ("po", "purchase order"), ("pct", "percent"), ("perc", "percent"), ("wt", "weight"), ("wgt", "weight"),
    ("std", "standard"), ("stk", "stock"), ("reord", "reorder"), ("dflt", "default"), ("acct", "account"),
    ("vend", "vendor"), ("vnd", "vendor"), ("mfr", "manufacturer"), ("mfg", "manufacturer"),
    ("lvl", "level"), ("grp", "group"), ("cat", "category"), ("categ", "category"), ("seq", "sequence"),
    ("ln", "line"), ("hdr", "header"), ("dtl", "detail"), ("loc", "location"), ("pmt", "payment"),
    ("pymt", "payment"), ("chg", "charge"), ("chrg", "charge"), ("bal", "balance"), ("cr", "credit"),
    ("dr", "debit"), ("tran", "transaction"), ("trans", "transaction"), ("txn", "transaction"),
    ("jrnl", "journal"), ("bat", "batch"), ("ctry", "country"), ("cntry", "country"), ("nm", "name"),
    ("val", "value"), ("mthd", "method"), ("cmnt", "comment"), ("cmt", "comment"), ("prod", "product"),
    ("itm", "item"), ("ser", "serial"), ("dim", "dimension"), ("ht", "height"), ("len", "length"),
    ("ph", "phone"), ("addl", "additional"), ("adj", "adjustment"), ("misc", "miscellaneous"),
    ("yr", "year"), ("shp", "ship"), ("shpd", "shipped"), ("rcv", "receive"), ("rcvd", "received"),
    ("recv", "receive"), ("cnt", "count"), ("doc", "document"), ("emp", "employee"), ("mgr", "manager"),
    ("pri", "priority"), ("rsn", "reason"), ("rtn", "return"), ("trk", "tracking"), ("trkg", "tracking"),
    ("carr", "carrier"), ("svc", "service"), ("srvc", "service"), ("um", "unit"), ("msg", "message"),
    ("qtys", "quantity"), ("amts", "amount"), ("lbl", "label"), ("img", "image"), ("url", "link"),
    ("fnsku", "fulfillment network sku"),
];

/// Word sequences that mean one thing (after abbreviations are expanded).
#[rustfmt::skip]
pub(super) const PHRASES: &[(&[&str], &[&str])] = &[
    (&["on", "hand"], &["onhand"]),
    (&["on", "order"], &["onorder"]),
    (&["in", "transit"], &["intransit"]),
    (&["not", "available"], &["unavailable"]),
    (&["back", "order"], &["backorder"]),
    (&["inventory", "id"], &["item", "id"]),
    (&["inventory", "number"], &["item", "number"]),
    (&["ship", "to"], &["shipto"]),
    (&["bill", "to"], &["billto"]),
    (&["sold", "to"], &["customer"]),
    (&["purchase", "order"], &["purchaseorder"]),
    (&["sales", "person"], &["salesperson"]),
    (&["e", "mail"], &["email"]),
    (&["zip", "code"], &["zip"]),
    (&["post", "code"], &["postal"]),
    (&["unit", "of", "measure"], &["unit"]),
    (&["last", "updated"], &["updated"]),
    (&["last", "update"], &["updated"]),
    (&["last", "modified"], &["updated"]),
    (&["fulfillment", "center"], &["fulfillmentcenter"]),
    (&["legal", "entity"], &["legalentity"]),
    (&["country", "region"], &["country"]),
];

/// Words that carry no meaning for matching.
pub(super) const STOP: &[&str] = &[
    "info", "the", "of", "to", "code", "new", "msdyn", "data", "er", "or", "and", "is", "are", "has", "a", "an", "for",
    "at", "in", "on", "per", "with",
    // "sales" qualifies (sales order, sales price, sales unit) rather than names a thing.
    "sales",
];

/// Concepts too common to identify a field on their own: a match on these alone, while the
/// target's distinctive word is unmatched, is not a confident match.
pub(super) const GENERIC: &[&str] = &[
    "id",
    "date",
    "name",
    "status",
    "type",
    "amount",
    "total",
    "description",
    "quantity",
    "lines",
    "updated",
    "unit",
    "default",
    "level",
    "group",
    "line",
    "street",
    "extended",
    "standard",
    "count",
    "value",
    "flag",
    "header",
];

/// Dictionary for splitting glued lower-case names (`stateorprovince`, `quantityonhand`), in
/// addition to every synonym and every abbreviation of three letters or more.
#[rustfmt::skip]
pub(super) const VOCAB: &[&str] = &[
    "address", "state", "or", "province", "email", "telephone", "first", "last", "name", "order", "number",
    "total", "amount", "status", "code", "ship", "to", "city", "postal", "country", "line", "transaction",
    "currency", "id", "date", "submit", "fulfilled", "customer", "price", "per", "unit", "request", "delivery",
    "by", "description", "full", "job", "title", "birth", "mobile", "phone", "business", "home", "account",
    "contact", "sales", "detail", "product", "quantity", "tax", "discount", "freight", "zip", "street",
    "region", "external", "reference", "lines", "on", "hand", "in", "of", "available", "allocated", "reserved",
    "inventory", "warehouse", "site", "location", "bin", "lot", "serial", "measure", "weight", "height",
    "width", "length", "depth", "volume", "cost", "standard", "list", "sale", "purchase", "vendor",
    "supplier", "invoice", "bill", "billing", "payment", "terms", "percent", "promised", "requested",
    "shipped", "shipping", "shipment", "carrier", "method", "service", "level", "tracking", "company",
    "user", "created", "updated", "modified", "middle", "note", "comment", "type", "class", "group",
    "category", "brand", "manufacturer", "model", "barcode", "upc", "ean", "gtin", "isbn", "image", "link",
    "active", "enabled", "deleted", "cancelled", "canceled", "hold", "credit", "debit", "balance", "open",
    "closed", "back", "backorder", "transit", "inbound", "outbound", "receipt", "received", "fulfillable",
    "fulfillment", "condition", "short", "long", "slug", "seo", "stock", "min", "max", "minimum",
    "maximum", "reorder", "point", "safety", "variant", "option", "color", "colour", "size", "style",
    "parent", "child", "key", "custom", "internal", "source", "origin", "channel", "market", "marketplace",
    "store", "web", "taxable", "exempt", "gift", "wrap", "message", "subtotal", "grand", "handling", "fee",
    "charge", "rate", "exchange", "period", "post", "posted", "batch", "journal", "ledger", "due", "paid",
    "refund", "return", "reason", "disposition", "license", "plate", "center", "attention", "fax", "house",
    "apartment", "suite", "district", "county", "town", "recipient", "organization", "alias", "search",
    "display", "text", "remarks", "ordered", "invoiced", "delivered", "cancel", "time", "stamp", "day",
    "month", "year", "version", "revision", "sequence", "item", "items", "sku", "asin", "part", "value",
    "merchandise", "extended", "default", "promotion", "coupon", "buyer", "seller", "shipto", "billto",
    "quantity", "update", "creation", "reservation", "committed", "sellable", "unsellable", "prime",
    "premium", "replacement", "earliest", "latest", "window", "estimated", "actual", "release", "released",
    "salesperson", "person", "count", "flag", "document", "employee", "manager", "priority", "label",
    "mail", "family", "given", "not", "new", "customers", "requisition", "identifier", "region", "sell",
    "onhand", "price", "is", "are", "has", "physical", "ordering", "multiplier", "divide", "mult", "div",
];

/// System and housekeeping columns the target system fills itself (audit stamps, row
/// versions, company scoping, spare user fields): no source field maps to them.
pub(super) fn is_system_column(name: &str) -> bool {
    let lower: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    const EXACT: &[&str] = &[
        // Dynamics SL
        "noteid",
        "tstamp",
        // F&O
        "dataareaid",
        "recid",
        "recversion",
        "partition",
        // Dataverse
        "createdon",
        "modifiedon",
        "createdby",
        "modifiedby",
        "createdonbehalfby",
        "modifiedonbehalfby",
        "versionnumber",
        "importsequencenumber",
        "timezoneruleversionnumber",
        "utcconversiontimezonecode",
        "owningbusinessunit",
        "owninguser",
        "owningteam",
        // generic
        "rowversion",
        "etag",
        "odataetag",
    ];
    let digits_after = |prefix: &str| {
        lower.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    };
    EXACT.contains(&lower.as_str())
        // SL audit columns Crtd_DateTime/Crtd_Prog/Crtd_User, LUpd_*; reserved S4Future01–12;
        // user-defined User1–User10.
        || lower.starts_with("crtd")
        || lower.starts_with("lupd")
        || lower.starts_with("s4future")
        || digits_after("user")
        // created/modified/updated by user or program
        || ["created", "modified", "updated", "lastupdated", "lastmodified"].iter().any(|verb| {
            ["by", "user", "userid", "prog", "program"].iter().any(|who| lower == format!("{verb}{who}"))
        })
}
