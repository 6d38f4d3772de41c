//! The tables the sandbox knows: entity set names, primary ids, required columns, lookups
//! (single-valued navigation properties), one-to-many relationships, column lengths and the
//! statecode/statuscode pairs, as in DYNAMICS.md §A.5.

/// A single-valued navigation property: `<nav>@odata.bind` sets the lookup column `attribute`
/// (read back as `_<attribute>_value`) to a row of `target` (an entity set).
#[derive(Debug, Clone, Copy)]
pub struct Lookup {
    pub nav: &'static str,
    pub attribute: &'static str,
    pub target: &'static str,
}

/// A collection-valued navigation property: rows of `target` whose lookup `attribute` points
/// at this row.
#[derive(Debug, Clone, Copy)]
pub struct OneToMany {
    pub nav: &'static str,
    pub target: &'static str,
    pub attribute: &'static str,
}

/// One allowed state with its default status and every status valid in it.
#[derive(Debug, Clone, Copy)]
pub struct State {
    pub code: i64,
    pub label: &'static str,
    pub default_status: i64,
    pub statuses: &'static [i64],
    /// The message Dataverse demands for entering this state, when an Update may not.
    pub requires_message: Option<&'static str>,
}

/// One table.
#[derive(Debug, Clone, Copy)]
pub struct EntityDef {
    pub logical: &'static str,
    /// Schema name used in messages (`SalesOrder`).
    pub schema: &'static str,
    pub set: &'static str,
    pub primary_id: &'static str,
    pub primary_name: &'static str,
    /// Columns a create must carry (SystemRequired, enforced by the platform).
    pub required: &'static [&'static str],
    pub lookups: &'static [Lookup],
    pub collections: &'static [OneToMany],
    pub max_lengths: &'static [(&'static str, usize)],
    /// Columns the platform keeps as they were created (e.g. `ordernumber`).
    pub not_updatable: &'static [&'static str],
    pub states: &'static [State],
}

impl EntityDef {
    pub fn lookup(&self, nav: &str) -> Option<&'static Lookup> {
        self.lookups.iter().find(|l| l.nav == nav)
    }

    pub fn lookup_by_attribute(&self, attribute: &str) -> Option<&'static Lookup> {
        self.lookups.iter().find(|l| l.attribute == attribute)
    }

    pub fn collection(&self, nav: &str) -> Option<&'static OneToMany> {
        self.collections.iter().find(|c| c.nav == nav)
    }

    pub fn max_length(&self, column: &str) -> Option<usize> {
        self.max_lengths.iter().find(|(c, _)| *c == column).map(|(_, n)| *n)
    }

    pub fn state(&self, code: i64) -> Option<&'static State> {
        self.states.iter().find(|s| s.code == code)
    }
}

const fn l(nav: &'static str, attribute: &'static str, target: &'static str) -> Lookup {
    Lookup { nav, attribute, target }
}

const SHIP_BILL: &[(&str, usize)] = &[
    ("name", 300),
    ("ordernumber", 100),
    ("description", 2000),
    ("shipto_name", 200),
    ("shipto_line1", 250),
    ("shipto_line2", 250),
    ("shipto_line3", 250),
    ("shipto_city", 80),
    ("shipto_stateorprovince", 50),
    ("shipto_postalcode", 20),
    ("shipto_country", 80),
    ("shipto_telephone", 50),
    ("shipto_contactname", 150),
    ("billto_name", 200),
    ("billto_line1", 250),
    ("billto_line2", 250),
    ("billto_line3", 250),
    ("billto_city", 80),
    ("billto_stateorprovince", 50),
    ("billto_postalcode", 20),
    ("billto_country", 80),
    ("billto_telephone", 50),
    ("billto_contactname", 150),
];

const ADDRESS: &[(&str, usize)] = &[
    ("firstname", 50),
    ("lastname", 50),
    ("name", 160),
    ("emailaddress1", 100),
    ("telephone1", 50),
    ("address1_line1", 250),
    ("address1_line2", 250),
    ("address1_line3", 250),
    ("address1_city", 80),
    ("address1_stateorprovince", 50),
    ("address1_postalcode", 20),
    ("address1_country", 80),
    ("address2_line1", 250),
    ("address2_line2", 250),
    ("address2_line3", 250),
    ("address2_city", 80),
    ("address2_stateorprovince", 50),
    ("address2_postalcode", 20),
    ("address2_country", 80),
];

pub static ENTITIES: &[EntityDef] = &[
    EntityDef {
        logical: "salesorder",
        schema: "SalesOrder",
        set: "salesorders",
        primary_id: "salesorderid",
        primary_name: "name",
        required: &[],
        lookups: &[
            l("customerid_account", "customerid", "accounts"),
            l("customerid_contact", "customerid", "contacts"),
            l("pricelevelid", "pricelevelid", "pricelevels"),
            l("transactioncurrencyid", "transactioncurrencyid", "transactioncurrencies"),
        ],
        collections: &[OneToMany { nav: "order_details", target: "salesorderdetails", attribute: "salesorderid" }],
        max_lengths: SHIP_BILL,
        not_updatable: &["ordernumber", "transactioncurrencyid"],
        states: &[
            State { code: 0, label: "Active", default_status: 1, statuses: &[1, 2, 690970000], requires_message: None },
            State { code: 1, label: "Submitted", default_status: 3, statuses: &[3], requires_message: None },
            State {
                code: 2,
                label: "Canceled",
                default_status: 4,
                statuses: &[4],
                requires_message: Some("CancelSalesOrder"),
            },
            State {
                code: 3,
                label: "Fulfilled",
                default_status: 100001,
                statuses: &[100001, 100002],
                requires_message: Some("FulfillSalesOrder"),
            },
            State { code: 4, label: "Invoiced", default_status: 100003, statuses: &[100003], requires_message: None },
        ],
    },
    EntityDef {
        logical: "salesorderdetail",
        schema: "SalesOrderDetail",
        set: "salesorderdetails",
        primary_id: "salesorderdetailid",
        primary_name: "productidname",
        required: &["salesorderid"],
        lookups: &[
            l("salesorderid", "salesorderid", "salesorders"),
            l("productid", "productid", "products"),
            l("uomid", "uomid", "uoms"),
        ],
        collections: &[],
        max_lengths: &[("productdescription", 500)],
        not_updatable: &["isproductoverridden", "salesorderid"],
        states: &[],
    },
    EntityDef {
        logical: "contact",
        schema: "Contact",
        set: "contacts",
        primary_id: "contactid",
        primary_name: "fullname",
        required: &[],
        lookups: &[
            l("parentcustomerid_account", "parentcustomerid", "accounts"),
            l("parentcustomerid_contact", "parentcustomerid", "contacts"),
        ],
        collections: &[OneToMany { nav: "Contact_Tasks", target: "tasks", attribute: "regardingobjectid" }],
        max_lengths: ADDRESS,
        not_updatable: &[],
        states: &[
            State { code: 0, label: "Active", default_status: 1, statuses: &[1], requires_message: None },
            State { code: 1, label: "Inactive", default_status: 2, statuses: &[2], requires_message: None },
        ],
    },
    EntityDef {
        logical: "account",
        schema: "Account",
        set: "accounts",
        primary_id: "accountid",
        primary_name: "name",
        required: &[],
        lookups: &[
            l("primarycontactid", "primarycontactid", "contacts"),
            l("originatingleadid", "originatingleadid", "leads"),
            l("parentaccountid", "parentaccountid", "accounts"),
        ],
        collections: &[
            OneToMany { nav: "Account_Tasks", target: "tasks", attribute: "regardingobjectid" },
            OneToMany { nav: "contact_customer_accounts", target: "contacts", attribute: "parentcustomerid" },
        ],
        max_lengths: ADDRESS,
        not_updatable: &[],
        states: &[
            State { code: 0, label: "Active", default_status: 1, statuses: &[1], requires_message: None },
            State { code: 1, label: "Inactive", default_status: 2, statuses: &[2], requires_message: None },
        ],
    },
    EntityDef {
        logical: "lead",
        schema: "Lead",
        set: "leads",
        primary_id: "leadid",
        primary_name: "fullname",
        required: &[],
        lookups: &[],
        collections: &[],
        max_lengths: &[("firstname", 50), ("lastname", 50)],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "product",
        schema: "Product",
        set: "products",
        primary_id: "productid",
        primary_name: "name",
        required: &["productnumber"],
        lookups: &[
            l("defaultuomid", "defaultuomid", "uoms"),
            l("defaultuomscheduleid", "defaultuomscheduleid", "uomschedules"),
            l("pricelevelid", "pricelevelid", "pricelevels"),
            l("transactioncurrencyid", "transactioncurrencyid", "transactioncurrencies"),
        ],
        collections: &[],
        max_lengths: &[("productnumber", 100), ("name", 100), ("description", 2000)],
        not_updatable: &[],
        states: &[
            State { code: 0, label: "Active", default_status: 1, statuses: &[1], requires_message: None },
            State { code: 1, label: "Retired", default_status: 2, statuses: &[2], requires_message: None },
            State { code: 2, label: "Draft", default_status: 0, statuses: &[0], requires_message: None },
            State { code: 3, label: "UnderRevision", default_status: 3, statuses: &[3], requires_message: None },
        ],
    },
    EntityDef {
        logical: "transactioncurrency",
        schema: "TransactionCurrency",
        set: "transactioncurrencies",
        primary_id: "transactioncurrencyid",
        primary_name: "currencyname",
        required: &["isocurrencycode"],
        lookups: &[],
        collections: &[],
        max_lengths: &[("isocurrencycode", 5)],
        not_updatable: &["isocurrencycode"],
        states: &[],
    },
    EntityDef {
        logical: "uom",
        schema: "UoM",
        set: "uoms",
        primary_id: "uomid",
        primary_name: "name",
        required: &["name"],
        lookups: &[l("uomscheduleid", "uomscheduleid", "uomschedules")],
        collections: &[],
        max_lengths: &[("name", 100)],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "uomschedule",
        schema: "UoMSchedule",
        set: "uomschedules",
        primary_id: "uomscheduleid",
        primary_name: "name",
        required: &["name"],
        lookups: &[],
        collections: &[],
        max_lengths: &[("name", 200)],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "pricelevel",
        schema: "PriceLevel",
        set: "pricelevels",
        primary_id: "pricelevelid",
        primary_name: "name",
        required: &["name"],
        lookups: &[l("transactioncurrencyid", "transactioncurrencyid", "transactioncurrencies")],
        collections: &[],
        max_lengths: &[("name", 100)],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "productpricelevel",
        schema: "ProductPriceLevel",
        set: "productpricelevels",
        primary_id: "productpricelevelid",
        primary_name: "productidname",
        required: &["pricelevelid", "productid"],
        lookups: &[
            l("pricelevelid", "pricelevelid", "pricelevels"),
            l("productid", "productid", "products"),
            l("uomid", "uomid", "uoms"),
            l("uomscheduleid", "uomscheduleid", "uomschedules"),
        ],
        collections: &[],
        max_lengths: &[],
        not_updatable: &["pricelevelid"],
        states: &[],
    },
    EntityDef {
        logical: "incident",
        schema: "Incident",
        set: "incidents",
        primary_id: "incidentid",
        primary_name: "title",
        required: &[],
        lookups: &[
            l("customerid_account", "customerid", "accounts"),
            l("customerid_contact", "customerid", "contacts"),
        ],
        collections: &[],
        max_lengths: &[("title", 200), ("ticketnumber", 100)],
        not_updatable: &["ticketnumber"],
        states: &[
            State { code: 0, label: "Active", default_status: 1, statuses: &[1, 2, 3, 4], requires_message: None },
            State {
                code: 1,
                label: "Resolved",
                default_status: 5,
                statuses: &[5, 1000],
                requires_message: Some("CloseIncident"),
            },
            State { code: 2, label: "Canceled", default_status: 6, statuses: &[6, 2000], requires_message: None },
        ],
    },
    EntityDef {
        logical: "task",
        schema: "Task",
        set: "tasks",
        primary_id: "activityid",
        primary_name: "subject",
        required: &[],
        lookups: &[
            l("regardingobjectid_account_task", "regardingobjectid", "accounts"),
            l("regardingobjectid_contact_task", "regardingobjectid", "contacts"),
            l("regardingobjectid_salesorder_task", "regardingobjectid", "salesorders"),
            l("regardingobjectid_incident_task", "regardingobjectid", "incidents"),
        ],
        collections: &[],
        max_lengths: &[("subject", 200), ("description", 2000)],
        not_updatable: &[],
        states: &[
            State { code: 0, label: "Open", default_status: 2, statuses: &[2, 3, 4, 7], requires_message: None },
            State { code: 1, label: "Completed", default_status: 5, statuses: &[5], requires_message: None },
            State { code: 2, label: "Canceled", default_status: 6, statuses: &[6], requires_message: None },
        ],
    },
    // Written by the FulfillSalesOrder / CancelSalesOrder and CloseIncident actions.
    EntityDef {
        logical: "orderclose",
        schema: "OrderClose",
        set: "orderclosures",
        primary_id: "activityid",
        primary_name: "subject",
        required: &[],
        lookups: &[l("salesorderid", "salesorderid", "salesorders")],
        collections: &[],
        max_lengths: &[("subject", 200)],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "incidentresolution",
        schema: "IncidentResolution",
        set: "incidentresolutions",
        primary_id: "activityid",
        primary_name: "subject",
        required: &[],
        lookups: &[l("incidentid", "incidentid", "incidents")],
        collections: &[],
        max_lengths: &[("subject", 200)],
        not_updatable: &[],
        states: &[],
    },
    // WebHook registration through the Web API (DYNAMICS.md §A.4): a serviceendpoint with
    // contract 8 and steps naming a message (Create/Update/Delete) and a table filter.
    EntityDef {
        logical: "serviceendpoint",
        schema: "ServiceEndpoint",
        set: "serviceendpoints",
        primary_id: "serviceendpointid",
        primary_name: "name",
        required: &["name", "contract", "url"],
        lookups: &[],
        collections: &[],
        max_lengths: &[],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "sdkmessage",
        schema: "SdkMessage",
        set: "sdkmessages",
        primary_id: "sdkmessageid",
        primary_name: "name",
        required: &["name"],
        lookups: &[],
        collections: &[],
        max_lengths: &[],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "sdkmessagefilter",
        schema: "SdkMessageFilter",
        set: "sdkmessagefilters",
        primary_id: "sdkmessagefilterid",
        primary_name: "name",
        required: &[],
        lookups: &[l("sdkmessageid", "sdkmessageid", "sdkmessages")],
        collections: &[],
        max_lengths: &[],
        not_updatable: &[],
        states: &[],
    },
    EntityDef {
        logical: "sdkmessageprocessingstep",
        schema: "SdkMessageProcessingStep",
        set: "sdkmessageprocessingsteps",
        primary_id: "sdkmessageprocessingstepid",
        primary_name: "name",
        required: &["sdkmessageid", "eventhandler"],
        lookups: &[
            l("sdkmessageid", "sdkmessageid", "sdkmessages"),
            l("sdkmessagefilterid", "sdkmessagefilterid", "sdkmessagefilters"),
            l("eventhandler_serviceendpoint", "eventhandler", "serviceendpoints"),
        ],
        collections: &[],
        max_lengths: &[],
        not_updatable: &[],
        states: &[
            State { code: 0, label: "Enabled", default_status: 1, statuses: &[1], requires_message: None },
            State { code: 1, label: "Disabled", default_status: 2, statuses: &[2], requires_message: None },
        ],
    },
    // System Jobs: failed asynchronous webhook deliveries are recorded here (statuscode 31).
    EntityDef {
        logical: "asyncoperation",
        schema: "AsyncOperation",
        set: "asyncoperations",
        primary_id: "asyncoperationid",
        primary_name: "name",
        required: &[],
        lookups: &[],
        collections: &[],
        max_lengths: &[],
        not_updatable: &[],
        states: &[],
    },
];

/// Messages a step can be registered for, with fixed ids.
pub const SDK_MESSAGES: [(&str, u128); 3] = [
    ("Create", 0x9ebdbb1b_ea3e_db11_86a7_000a3a5473e8),
    ("Update", 0x20bebb1b_ea3e_db11_86a7_000a3a5473e8),
    ("Delete", 0x21bebb1b_ea3e_db11_86a7_000a3a5473e8),
];

/// Tables a webhook step can filter on (the business tables, not the registration ones).
pub fn webhook_tables() -> impl Iterator<Item = &'static EntityDef> {
    ENTITIES
        .iter()
        .filter(|e| !e.logical.starts_with("sdkmessage") && !matches!(e.logical, "serviceendpoint" | "asyncoperation"))
}

/// The table behind an entity set name (`salesorders`).
pub fn by_set(set: &str) -> Option<&'static EntityDef> {
    ENTITIES.iter().find(|e| e.set == set)
}

/// The table with a logical name (`salesorder`).
pub fn by_logical(logical: &str) -> Option<&'static EntityDef> {
    ENTITIES.iter().find(|e| e.logical == logical)
}

/// Whether a column name is a custom column: one with a publisher's customization prefix.
/// The sandbox lists no table's standard columns in full, so it recognises custom columns by
/// the prefixes an org's own publishers use: `new_` (the default publisher) and `cr` plus
/// three characters and `_` (the CDS default publisher, e.g. `cr1a2_`). A stock org has none
/// of them until they are created through the metadata API.
pub fn is_custom_column(column: &str) -> bool {
    let column = column.trim_start_matches('_');
    if column.starts_with("new_") {
        return true;
    }
    let bytes = column.as_bytes();
    bytes.len() > 6 && column.starts_with("cr") && bytes[5] == b'_' && bytes[2..5].iter().all(u8::is_ascii_alphanumeric)
}
