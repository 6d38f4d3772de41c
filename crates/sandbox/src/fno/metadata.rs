//! `/data/$metadata`: the CSDL of what the sandbox serves, in F&O's namespace
//! `Microsoft.Dynamics.DataEntities` (DYNAMICS.md §B.1), shaped like a real F&O `$metadata`
//! (DYNAMICS.md §D): EnumTypes (members where the reference knows them),
//! one EntityType per entity with its key and properties, navigation properties, and one
//! EntityContainer with the entity sets.

use super::schema::{self, NAMESPACE};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The document.
pub fn csdl() -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n  <edmx:DataServices>\n",
    );
    out.push_str(&format!(
        "    <Schema Namespace=\"{NAMESPACE}\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n"
    ));
    for name in schema::enum_types() {
        out.push_str(&format!("      <EnumType Name=\"{}\">\n", escape(&name)));
        for (member, value) in schema::enum_members(&name).unwrap_or_default() {
            out.push_str(&format!("        <Member Name=\"{member}\" Value=\"{value}\" />\n"));
        }
        out.push_str("      </EnumType>\n");
    }
    for entity in &schema::schema().entities {
        out.push_str(&format!("      <EntityType Name=\"{}\">\n        <Key>\n", entity.type_name));
        for key in &entity.keys {
            out.push_str(&format!("          <PropertyRef Name=\"{key}\" />\n"));
        }
        out.push_str("        </Key>\n");
        for p in &entity.properties {
            let nullable = if p.nullable { "" } else { " Nullable=\"false\"" };
            out.push_str(&format!(
                "        <Property Name=\"{}\" Type=\"{}\"{nullable} />\n",
                escape(&p.name),
                escape(&p.kind.csdl())
            ));
        }
        for (name, target, many) in entity.navigation() {
            let target_type = schema::by_set(target).map(|t| t.type_name.clone()).unwrap_or_default();
            let ty = if many {
                format!("Collection({NAMESPACE}.{target_type})")
            } else {
                format!("{NAMESPACE}.{target_type}")
            };
            out.push_str(&format!("        <NavigationProperty Name=\"{name}\" Type=\"{ty}\" />\n"));
        }
        out.push_str("      </EntityType>\n");
    }
    out.push_str("      <EntityContainer Name=\"Resources\">\n");
    for entity in &schema::schema().entities {
        out.push_str(&format!(
            "        <EntitySet Name=\"{}\" EntityType=\"{NAMESPACE}.{}\">\n",
            entity.set, entity.type_name
        ));
        for (name, target, _) in entity.navigation() {
            out.push_str(&format!("          <NavigationPropertyBinding Path=\"{name}\" Target=\"{target}\" />\n"));
        }
        out.push_str("        </EntitySet>\n");
    }
    out.push_str("      </EntityContainer>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    out
}
