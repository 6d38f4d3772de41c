//! A stock org (no alternate keys, no custom columns) and the metadata API that customises
//! it: custom columns (`AttributeMetadata`) and alternate keys (`EntityKeyMetadata`) whose
//! index builds asynchronously.

use std::time::{Duration, Instant};

use ferry_sandbox::dataverse::DataverseSandboxConfig;
use serde_json::{Value, json};

use super::support::Api;

async fn stock(key_build: Duration) -> Api {
    Api::start_with(DataverseSandboxConfig { key_build, ..DataverseSandboxConfig::default() }).await
}

/// The `EntityKeyIndexStatus` of the key on `columns` of `entity`.
async fn key_status(api: &Api, entity: &str, name: &str) -> String {
    let r = api.get(&format!("EntityDefinitions(LogicalName='{entity}')/Keys")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let keys = r.json()["value"].as_array().cloned().unwrap_or_default();
    let key = keys.iter().find(|k| k["LogicalName"] == name).unwrap_or_else(|| panic!("no key {name} in {keys:?}"));
    key["EntityKeyIndexStatus"].as_str().expect("status").to_owned()
}

async fn wait_for(api: &Api, entity: &str, name: &str, want: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let status = key_status(api, entity, name).await;
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == want {
            return seen;
        }
        assert!(Instant::now() < deadline, "key {name} never became {want}: {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stock_org_has_no_alternate_keys_nor_custom_columns_and_refuses_them_as_dataverse_does() {
    let api = stock(Duration::from_secs(1)).await;
    for entity in ["contact", "salesorder", "product", "account"] {
        let r = api.get(&format!("EntityDefinitions(LogicalName='{entity}')/Keys")).await;
        assert_eq!((r.status, r.json()["value"].clone()), (200, json!([])), "{entity}");
    }
    // A keyed upsert on a column without a key.
    for (path, logical) in [
        ("contacts(emailaddress1='jo@example.com')", "contact"),
        ("salesorders(ordernumber='112-1')", "salesorder"),
        ("products(productnumber='SKU-1')", "product"),
    ] {
        let r = api.patch(path, &[], &json!({"lastname": "x"})).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(
            r.error().1,
            format!(
                "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.{logical}'. Ensure that the names and number of key properties match the declared key properties for the resource 'Microsoft.Dynamics.CRM.{logical}'."
            )
        );
    }
    // A custom column that was never created: in $filter, $select, $orderby and in a body.
    for query in [
        "salesorders?$filter=new_amazonorderid eq '112-1'",
        "salesorders?$select=name,new_amazonorderid",
        "salesorders?$orderby=new_amazonorderid desc",
    ] {
        let r = api.get(query).await;
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(
            r.error(),
            (
                "0x80060888".to_owned(),
                "Could not find a property named 'new_amazonorderid' on type 'Microsoft.Dynamics.CRM.salesorder'."
                    .to_owned()
            ),
            "{query}"
        );
    }
    let r = api.post("salesorders", &json!({"name": "SO", "new_amazonorderid": "112-1"})).await;
    assert_eq!(r.status, 400);
    let (code, message) = r.error();
    assert_eq!(code, "0x80048d19");
    assert!(
        message.contains("The property 'new_amazonorderid' does not exist on type 'Microsoft.Dynamics.CRM.salesorder'"),
        "{message}"
    );
    assert_eq!(api.sandbox.row_count("salesorders"), 0, "nothing written");
    // Standard columns need nothing.
    assert_eq!(api.get("contacts?$filter=emailaddress1 eq 'jo@example.com'").await.status, 200);
}

#[tokio::test]
async fn custom_columns_are_created_read_back_and_then_written_with_their_length() {
    let api = stock(Duration::from_secs(1)).await;
    let column = json!({
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": "new_AmazonOrderId",
        "MaxLength": 19,
        "DisplayName": {"LocalizedLabels": [{"Label": "Amazon Order Id", "LanguageCode": 1033}]},
    });
    let r = api.post("EntityDefinitions(LogicalName='salesorder')/Attributes", &column).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(
        r.header("OData-EntityId").is_some_and(|u| u.contains("/EntityDefinitions(") && u.contains("/Attributes("))
    );
    let read = api.get("EntityDefinitions(LogicalName='salesorder')/Attributes(LogicalName='new_amazonorderid')").await;
    assert_eq!(read.status, 200, "{}", read.body);
    let read = read.json();
    assert_eq!(
        (read["LogicalName"].as_str(), read["MaxLength"].as_u64(), read["IsCustomAttribute"].as_bool()),
        (Some("new_amazonorderid"), Some(19), Some(true))
    );
    // Created once: a second create is refused and changes nothing.
    let again = api.post("EntityDefinitions(LogicalName='salesorder')/Attributes", &column).await;
    assert_eq!(again.status, 400, "{}", again.body);
    // A column that does not exist reads as 404.
    let r = api.get("EntityDefinitions(LogicalName='salesorder')/Attributes(LogicalName='new_asin')").await;
    assert_eq!(r.status, 404);
    // Now the column can be written and queried, within its length.
    let r = api.post("salesorders", &json!({"name": "SO", "new_amazonorderid": "112-0000001-0000001"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let rows = api.get("salesorders?$filter=new_amazonorderid eq '112-0000001-0000001'&$select=name").await;
    assert_eq!(rows.json()["value"].as_array().map(Vec::len), Some(1));
    let r = api.post("salesorders", &json!({"name": "SO", "new_amazonorderid": "112-0000001-00000012"})).await;
    assert_eq!((r.status, r.error().0.as_str()), (400, "0x80044331"), "{}", r.body);
    // Columns without a customization prefix, or of a type the sandbox does not know, are refused.
    let r = api
        .post(
            "EntityDefinitions(LogicalName='salesorder')/Attributes",
            &json!({"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "amazonid", "MaxLength": 10}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post(
            "EntityDefinitions(LogicalName='salesorder')/Attributes",
            &json!({"@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata", "SchemaName": "new_x"}),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn an_alternate_key_goes_pending_then_in_progress_then_active_and_only_then_serves_upserts() {
    let api = stock(Duration::from_millis(600)).await;
    let key = json!({"SchemaName": "new_EmailKey", "DisplayName": {"LocalizedLabels": []}, "KeyAttributes": ["emailaddress1"]});
    let r = api.post("EntityDefinitions(LogicalName='contact')/Keys", &key).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.header("OData-EntityId").is_some_and(|u| u.contains("/Keys(")));
    let read = api.get("EntityDefinitions(LogicalName='contact')/Keys(LogicalName='new_emailkey')").await.json();
    assert_eq!(read["KeyAttributes"], json!(["emailaddress1"]));
    assert_eq!(read["EntityKeyIndexStatus"], "Pending");
    // Not usable until its index is active.
    let path = "contacts(emailaddress1='jo@example.com')";
    assert_eq!(api.patch(path, &[], &json!({"lastname": "Park"})).await.status, 400);
    let seen = wait_for(&api, "contact", "new_emailkey", "Active").await;
    assert_eq!(seen, ["Pending", "InProgress", "Active"]);
    let r = api.patch(path, &[], &json!({"lastname": "Park"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.patch(path, &[], &json!({"lastname": "Park"})).await.status, 204);
    assert_eq!(api.sandbox.row_count("contacts"), 1, "the key upserts");
    // Unique from now on.
    let r = api.post("contacts", &json!({"lastname": "Dup", "emailaddress1": "JO@example.com"})).await;
    assert_eq!((r.status, r.error().0.as_str()), (412, "0x80040237"));
    // A second key on the same columns, or with the same name, is refused.
    let r = api.post("EntityDefinitions(LogicalName='contact')/Keys", &key).await;
    assert_eq!(r.status, 400);
    let same_columns = json!({"SchemaName": "new_OtherKey", "KeyAttributes": ["emailaddress1"]});
    assert_eq!(api.post("EntityDefinitions(LogicalName='contact')/Keys", &same_columns).await.status, 400);
    // A key on a custom column that does not exist is refused.
    let r = api
        .post(
            "EntityDefinitions(LogicalName='salesorderdetail')/Keys",
            &json!({"SchemaName": "new_LineKey", "KeyAttributes": ["new_sourcelineid"]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn a_key_over_rows_with_duplicate_values_fails_its_index() {
    let api = stock(Duration::from_millis(200)).await;
    for name in ["One", "Two"] {
        api.create("contacts", json!({"lastname": name, "emailaddress1": "shared@example.com"})).await;
    }
    let key = json!({"SchemaName": "new_EmailKey", "KeyAttributes": ["emailaddress1"]});
    assert_eq!(api.post("EntityDefinitions(LogicalName='contact')/Keys", &key).await.status, 204);
    wait_for(&api, "contact", "new_emailkey", "Failed").await;
    let r = api.patch("contacts(emailaddress1='shared@example.com')", &[], &json!({"lastname": "x"})).await;
    assert_eq!(r.status, 400, "a failed key cannot be used");
    let entity: Value = api.get("EntityDefinitions(LogicalName='contact')").await.json();
    assert_eq!(
        (entity["EntitySetName"].as_str(), entity["PrimaryIdAttribute"].as_str()),
        (Some("contacts"), Some("contactid"))
    );
}
