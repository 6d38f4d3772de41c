//! `ferry check` and `ferry run` refuse flow files that bind roles wrongly, each problem with
//! its file and line; sound files bind each role to the connection the user meant.

use ferry_flows::load_flows;

use super::support::{F1, F2, Folder, connection, line_of, pair, shipped};

fn problems(files: &[(&str, String)], connections: &[ferry_flows::ConnectionConfig]) -> Vec<String> {
    let folder = Folder::new(files);
    load_flows(folder.path(), connections).1
}

#[test]
fn the_shipped_files_bind_their_roles_with_no_problem() {
    assert_eq!(problems(&[(F1, shipped(F1)), (F2, shipped(F2))], &pair()), Vec::<String>::new());
}

#[test]
fn a_role_bound_to_a_connection_of_the_wrong_system_names_the_file_and_line() {
    let text =
        shipped(F1).replace("connections: { amazon: amazon, crm: crm }", "connections: { amazon: crm, crm: crm }");
    let found = problems(&[(F1, text.clone())], &pair());
    let line = line_of(&text, "connections: {");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains(&format!("{F1}:{line}:"))
            && found[0].contains("connections.amazon names connection `crm` of system `dataverse`"),
        "{found:?}"
    );
}

#[test]
fn an_unknown_connection_names_the_file_and_line() {
    let text = shipped(F1)
        .replace("connections: { amazon: amazon, crm: crm }", "connections: { amazon: amazon-eu, crm: crm }");
    let found = problems(&[(F1, text.clone())], &pair());
    let line = line_of(&text, "connections: {");
    assert!(
        found.iter().any(|p| p.contains(&format!("{F1}:{line}:")) && p.contains("unknown connection `amazon-eu`")),
        "{found:?}"
    );
}

#[test]
fn a_missing_role_is_refused_when_the_tenant_has_several_connections_of_its_system() {
    let text = shipped(F1).replace("connections: { amazon: amazon, crm: crm }", "connections: { crm: crm }");
    // Sections name roles, so nothing says which of two Amazon accounts to use.
    let mut connections = pair();
    connections.push(connection("amazon-eu", "amazon", "http://127.0.0.1:9"));
    let found = problems(&[(F1, text.clone())], &connections);
    let line = line_of(&text, "name: amazon-orders-to-crm");
    assert!(
        found.iter().any(|p| p.contains(&format!("{F1}:{line}:"))
            && p.contains("role `amazon` is not bound")
            && p.contains("amazon, amazon-eu")),
        "{found:?}"
    );
    // With one Amazon connection the role binds to it.
    assert_eq!(problems(&[(F1, text)], &pair()), Vec::<String>::new());
}

#[test]
fn a_role_with_no_connection_of_its_system_is_refused() {
    let found = problems(&[(F1, shipped(F1).replace("connections: { amazon: amazon, crm: crm }\n", ""))], &pair()[1..]);
    assert!(found.iter().any(|p| p.contains("role `amazon` needs a `amazon` connection")), "{found:?}");
}

#[test]
fn the_same_instance_twice_is_refused_and_a_second_instance_on_other_connections_is_not() {
    let second =
        shipped(F1).replace("name: amazon-orders-to-crm", "name: amazon-eu-orders\ntemplate: amazon-orders-to-crm");
    let found = problems(&[(F1, shipped(F1)), ("eu.yaml", second.clone())], &pair());
    let line = line_of(&second, "name: amazon-eu-orders");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains(&format!("eu.yaml:{line}:"))
            && found[0].contains("over the same connections as flow amazon-orders-to-crm"),
        "{found:?}"
    );
    let mut connections = pair();
    connections.push(connection("amazon-eu", "amazon", "http://127.0.0.1:9"));
    let eu =
        second.replace("connections: { amazon: amazon, crm: crm }", "connections: { amazon: amazon-eu, crm: crm }");
    assert_eq!(problems(&[(F1, shipped(F1)), ("eu.yaml", eu)], &connections), Vec::<String>::new());
    // A disabled twin is checked but not run, so it is no duplicate.
    let off =
        second.replacen("\ntemplate: amazon-orders-to-crm", "\ntemplate: amazon-orders-to-crm\nenabled: false", 1);
    assert_eq!(problems(&[(F1, shipped(F1)), ("eu.yaml", off)], &pair()), Vec::<String>::new());
}

#[test]
fn a_binding_for_a_role_the_template_does_not_have_and_a_section_on_the_wrong_role_are_refused() {
    let text = shipped(F1)
        .replace("connections: { amazon: amazon, crm: crm }", "connections: { amazon: amazon, crm: crm, erp: crm }");
    let found = problems(&[(F1, text)], &pair());
    assert!(
        found.iter().any(|p| p.contains("connections.erp: `erp` is not a role of amazon-orders-to-crm")),
        "{found:?}"
    );
    let text = shipped(F1).replace("source: { connection: amazon,", "source: { connection: crm,");
    let found = problems(&[(F1, text.clone())], &pair());
    let line = line_of(&text, "source: { connection: crm");
    assert!(
        found.iter().any(|p| p.contains(&format!("{F1}:{line}:")) && p.contains("source.connection names role `crm`")),
        "{found:?}"
    );
}

#[test]
fn an_unknown_template_is_refused_with_the_templates_ferry_ships() {
    let text = shipped(F1).replace("name: amazon-orders-to-crm", "name: x\ntemplate: amazon-orders-to-erp");
    let found = problems(&[(F1, text)], &pair());
    assert!(
        found.iter().any(|p| p.contains("template `amazon-orders-to-erp` is no flow Ferry ships")
            && p.contains("amazon-orders-to-crm, crm-orders-to-fba")),
        "{found:?}"
    );
}
