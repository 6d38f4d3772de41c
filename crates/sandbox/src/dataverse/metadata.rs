//! A minimal `$metadata` document (CSDL, namespace `Microsoft.Dynamics.CRM`, alias `mscrm`)
//! generated from the sandbox's tables: keys, the columns the sandbox knows, lookups and
//! entity sets, so clients that read the metadata at start-up can connect.

use std::fmt::Write as _;

use super::schema::ENTITIES;
use super::store::Txn;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// The CSDL document. Alternate keys come from the live tables (configured keys included).
pub fn csdl(txn: &Txn<'_>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n<edmx:DataServices>\n<Schema Namespace=\"Microsoft.Dynamics.CRM\" Alias=\"mscrm\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n",
    );
    for def in ENTITIES {
        let _ = writeln!(out, "<EntityType Name=\"{}\">", def.logical);
        let _ = writeln!(out, "<Key><PropertyRef Name=\"{}\" /></Key>", def.primary_id);
        let _ = writeln!(out, "<Property Name=\"{}\" Type=\"Edm.Guid\" />", def.primary_id);
        let mut columns: Vec<&str> = vec![def.primary_name];
        columns.extend(def.max_lengths.iter().map(|(c, _)| *c));
        columns.extend(def.required.iter().filter(|c| def.lookup_by_attribute(c).is_none()));
        columns.sort_unstable();
        columns.dedup();
        for column in columns.into_iter().filter(|c| *c != def.primary_id) {
            match def.max_length(column) {
                Some(n) => {
                    let _ = writeln!(out, "<Property Name=\"{column}\" Type=\"Edm.String\" MaxLength=\"{n}\" />");
                }
                None => {
                    let _ = writeln!(out, "<Property Name=\"{column}\" Type=\"Edm.String\" />");
                }
            }
        }
        if !def.states.is_empty() {
            out.push_str("<Property Name=\"statecode\" Type=\"Edm.Int32\" />\n<Property Name=\"statuscode\" Type=\"Edm.Int32\" />\n");
        }
        let mut lookup_columns: Vec<&str> = def.lookups.iter().map(|l| l.attribute).collect();
        lookup_columns.dedup();
        for attribute in lookup_columns {
            let _ = writeln!(out, "<Property Name=\"_{attribute}_value\" Type=\"Edm.Guid\" />");
        }
        for lookup in def.lookups {
            if let Some(target) = super::schema::by_set(lookup.target) {
                let _ =
                    writeln!(out, "<NavigationProperty Name=\"{}\" Type=\"mscrm.{}\" />", lookup.nav, target.logical);
            }
        }
        for many in def.collections {
            if let Some(target) = super::schema::by_set(many.target) {
                let _ = writeln!(
                    out,
                    "<NavigationProperty Name=\"{}\" Type=\"Collection(mscrm.{})\" />",
                    many.nav, target.logical
                );
            }
        }
        if let Some(table) = txn.table(def.set) {
            for column in table.columns.keys() {
                let _ = writeln!(out, "<Property Name=\"{}\" Type=\"Edm.String\" />", escape(column));
            }
            for key in table.keys.iter().filter(|k| k.status == super::store::KeyStatus::Active) {
                let _ = writeln!(
                    out,
                    "<!-- alternate key {}: {} -->",
                    escape(&key.logical_name),
                    escape(&key.columns.join(","))
                );
            }
        }
        out.push_str("</EntityType>\n");
    }
    out.push_str("<EntityContainer Name=\"System\">\n");
    for def in ENTITIES {
        let _ = writeln!(out, "<EntitySet Name=\"{}\" EntityType=\"mscrm.{}\" />", def.set, def.logical);
    }
    out.push_str("</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n");
    out
}
