//! The demo data the sandbox starts with: companies `usmf` (USD) and `demf` (EUR), their
//! setup (sites and warehouses, journal names, main accounts, customer groups, bank
//! accounts), customers, released products and on-hand stock. Names follow the Contoso demo
//! data F&O ships with where the reference is silent.

use serde_json::{Value, json};

/// A legal entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: String,
    pub currency: String,
    pub name: String,
}

/// Setup data the entity methods validate against (not served as entities).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub companies: Vec<Company>,
    /// (company, site, warehouse)
    pub warehouses: Vec<(String, String, String)>,
    /// (company, journal name)
    pub journal_names: Vec<(String, String)>,
    /// (company, main account)
    pub main_accounts: Vec<(String, String)>,
    /// (company, customer group)
    pub customer_groups: Vec<(String, String)>,
    /// (company, bank account)
    pub bank_accounts: Vec<(String, String)>,
}

impl Setup {
    pub fn company(&self, id: &str) -> Option<&Company> {
        self.companies.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }

    fn has(list: &[(String, String)], company: &str, value: &str) -> bool {
        list.iter().any(|(c, v)| c.eq_ignore_ascii_case(company) && v.eq_ignore_ascii_case(value))
    }

    pub fn site_of(&self, company: &str, warehouse: &str) -> Option<&str> {
        self.warehouses
            .iter()
            .find(|(c, _, w)| c.eq_ignore_ascii_case(company) && w.eq_ignore_ascii_case(warehouse))
            .map(|(_, s, _)| s.as_str())
    }

    pub fn has_site(&self, company: &str, site: &str) -> bool {
        self.warehouses.iter().any(|(c, s, _)| c.eq_ignore_ascii_case(company) && s.eq_ignore_ascii_case(site))
    }

    pub fn has_journal_name(&self, company: &str, name: &str) -> bool {
        Self::has(&self.journal_names, company, name)
    }

    pub fn has_main_account(&self, company: &str, account: &str) -> bool {
        Self::has(&self.main_accounts, company, account)
    }

    pub fn has_customer_group(&self, company: &str, group: &str) -> bool {
        Self::has(&self.customer_groups, company, group)
    }

    pub fn has_bank_account(&self, company: &str, account: &str) -> bool {
        Self::has(&self.bank_accounts, company, account)
    }
}

fn pairs(company: &str, values: &[&str]) -> Vec<(String, String)> {
    values.iter().map(|v| (company.to_owned(), (*v).to_owned())).collect()
}

/// The stock setup of both companies.
pub fn setup() -> Setup {
    let mut s = Setup {
        companies: vec![
            Company { id: "usmf".into(), currency: "USD".into(), name: "Contoso Entertainment System USA".into() },
            Company { id: "demf".into(), currency: "EUR".into(), name: "Contoso Entertainment System Germany".into() },
        ],
        ..Setup::default()
    };
    for (company, site, warehouse) in
        [("usmf", "1", "11"), ("usmf", "1", "13"), ("usmf", "2", "21"), ("usmf", "2", "24"), ("demf", "1", "11")]
    {
        s.warehouses.push((company.into(), site.into(), warehouse.into()));
    }
    for company in ["usmf", "demf"] {
        s.journal_names.extend(pairs(company, &["GenJrn", "Daily"]));
        s.main_accounts.extend(pairs(
            company,
            &["110110", "110180", "130100", "140200", "211100", "401100", "403300", "601500", "618900", "640100"],
        ));
        s.customer_groups.extend(pairs(company, &["10", "20", "30", "80", "90"]));
    }
    s.bank_accounts.extend(pairs("usmf", &["USMF OPER", "USMF PAYROLL"]));
    s.bank_accounts.extend(pairs("demf", &["DEMF OPER"]));
    s
}

/// Customers: (company, account, name, group, currency, warehouse).
pub fn customers() -> Vec<Value> {
    [
        ("usmf", "US-001", "Contoso Retail San Diego", "30", "USD", "11"),
        ("usmf", "US-002", "Contoso Retail Los Angeles", "30", "USD", "11"),
        ("usmf", "US-003", "Forest Wholesales", "10", "USD", "13"),
        ("usmf", "US-004", "Cave Wholesales", "10", "USD", "21"),
        ("demf", "DE-001", "Contoso Europe", "10", "EUR", "11"),
        ("demf", "DE-002", "Fabrikam Einzelhandel", "30", "EUR", "11"),
    ]
    .into_iter()
    .map(|(company, account, name, group, currency, warehouse)| {
        json!({
            "dataAreaId": company, "CustomerAccount": account, "OrganizationName": name,
            "NameAlias": name.split_whitespace().next().unwrap_or(name), "PartyType": "Organization",
            "CustomerGroupId": group, "SalesCurrencyCode": currency, "WarehouseId": warehouse,
            "LanguageId": if company == "demf" { "de" } else { "en-us" },
            "AddressCountryRegionId": if company == "demf" { "DEU" } else { "USA" },
            "DeliveryMode": "10", "PaymentTerms": "Net30", "CreditLimit": 50000,
        })
    })
    .collect()
}

/// Released products: (item, search name, price, unit) in both companies (demf prices in EUR).
pub fn products() -> Vec<Value> {
    let items = [
        ("A0001", "HDMI cable 6ft", "12.99", "ea"),
        ("A0002", "HDMI cable 12ft", "19.99", "ea"),
        ("D0001", "MidRangeSpeaker2", "249.00", "ea"),
        ("D0002", "Cabinet", "499.00", "ea"),
        ("D0003", "Standard speaker", "129.00", "ea"),
        ("M0001", "Mid-range speaker", "349.00", "ea"),
        ("T0001", "Speaker cable 10", "7.50", "ea"),
        ("T0002", "Projector television", "2499.00", "ea"),
    ];
    let mut out = Vec::new();
    for company in ["usmf", "demf"] {
        for (item, name, price, unit) in items {
            out.push(json!({
                "dataAreaId": company, "ItemNumber": item, "ProductNumber": item, "SearchName": name,
                "ProductSearchName": name.to_lowercase(), "SalesPrice": price.parse::<serde_json::Number>().map_or(Value::Null, Value::Number),
                "SalesPriceQuantity": 1, "SalesUnitSymbol": unit, "InventoryUnitSymbol": unit,
                "PurchaseUnitSymbol": unit, "ProductType": "Item", "ItemModelGroupId": "FIFO",
            }));
        }
    }
    out
}

/// On-hand stock: (company, item, site, warehouse, quantity).
pub fn on_hand() -> Vec<(&'static str, &'static str, &'static str, &'static str, i64)> {
    vec![
        ("usmf", "A0001", "1", "11", 120),
        ("usmf", "A0001", "2", "21", 40),
        ("usmf", "A0002", "1", "11", 75),
        ("usmf", "D0001", "1", "11", 18),
        ("usmf", "D0001", "1", "13", 6),
        ("usmf", "D0002", "2", "24", 9),
        ("usmf", "D0003", "1", "11", 30),
        ("usmf", "M0001", "1", "11", 12),
        ("usmf", "T0001", "1", "11", 500),
        ("usmf", "T0002", "2", "21", 3),
        ("demf", "A0001", "1", "11", 60),
        ("demf", "D0001", "1", "11", 10),
        ("demf", "T0001", "1", "11", 250),
    ]
}
