//! The store's lookup tables and exchange rates as the mapping engine reads them. They are
//! small and change rarely, so they are loaded into memory once per run (or preview).

use ferry_mapping::TableLookups;
use ferry_store::Store;
use ferry_store::TenantId;

/// Loads a tenant's lookup tables and exchange rates.
pub async fn load(store: &impl Store, tenant: &TenantId) -> anyhow::Result<TableLookups> {
    let mut lookups = TableLookups::new();
    for e in store.lookups(tenant).await? {
        lookups = lookups.with_table_entry(&e.table, &e.key, e.value);
    }
    for r in store.rates(tenant).await? {
        lookups = lookups.with_rate(r.from, r.to, r.rate);
    }
    Ok(lookups)
}
