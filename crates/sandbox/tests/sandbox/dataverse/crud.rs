//! Token endpoint, create / retrieve / update / upsert / delete, alternate keys, ETags,
//! lookups, validation errors and state changes.

use ferry_sandbox::dataverse::{DEFAULT_CLIENT_ID, DataverseSandboxConfig};
use serde_json::json;

use super::support::{Api, form, keyed};

#[tokio::test]
async fn token_endpoint_issues_bearer_tokens_and_refuses_bad_credentials_and_scopes() {
    let api = Api::start().await;
    let http = crate::http();
    let scope = format!("{}/.default", api.sandbox.base_url());
    let ask = |secret: &str, scope: &str| {
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", secret),
            ("scope", scope),
        ]);
        http.post(api.sandbox.token_url()).header("content-type", "application/x-www-form-urlencoded").body(body).send()
    };
    let ok = ask("ferry-sandbox-secret", &scope).await.expect("call");
    assert_eq!(ok.status().as_u16(), 200);
    let ok: serde_json::Value = serde_json::from_str(&ok.text().await.expect("body")).expect("json");
    assert_eq!(ok["token_type"], "Bearer");
    assert!(ok["expires_in"].as_u64().is_some_and(|s| s > 3000));

    let bad = ask("wrong", &scope).await.expect("call");
    assert_eq!(bad.status().as_u16(), 401);
    let bad: serde_json::Value = serde_json::from_str(&bad.text().await.expect("body")).expect("json");
    assert_eq!(bad["error"], "invalid_client");
    assert!(bad["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS7000215")));
    assert!(!bad.to_string().contains("wrong"), "the secret must not be echoed");

    let wrong_scope = ask("ferry-sandbox-secret", "https://other.crm.dynamics.com/.default").await.expect("call");
    assert_eq!(wrong_scope.status().as_u16(), 400);
    assert!(wrong_scope.text().await.expect("body").contains("invalid_scope"));

    // The Web API wants the token.
    let anonymous = http.get(format!("{}/accounts", api.sandbox.api_url())).send().await.expect("call");
    assert_eq!(anonymous.status().as_u16(), 401);
    let garbage =
        http.get(format!("{}/accounts", api.sandbox.api_url())).bearer_auth("nope").send().await.expect("call");
    assert_eq!(garbage.status().as_u16(), 401);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let config = DataverseSandboxConfig { token_lifetime: std::time::Duration::from_millis(50), ..Default::default() };
    let api = Api::start_with(config).await;
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let r = api.get("accounts").await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("ExpiredAuthTicket"));
}

#[tokio::test]
async fn create_answers_204_with_entity_id_or_201_with_the_representation() {
    let api = Api::start().await;
    let r = api.post("accounts", &json!({"name": "Contoso", "accountnumber": "C-1"})).await;
    assert_eq!(r.status, 204);
    let url = r.header("OData-EntityId").expect("OData-EntityId");
    assert!(url.starts_with(&format!("{}/accounts(", api.sandbox.api_url())), "{url}");
    assert!(r.body.is_empty());

    let r = api
        .send(
            "POST",
            "contacts?$select=fullname,firstname",
            &[("Prefer", "return=representation")],
            Some(r#"{"firstname":"Ada","lastname":"Lovelace"}"#),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("Preference-Applied").as_deref(), Some("return=representation"));
    let body = r.json();
    assert_eq!(body["fullname"], "Ada Lovelace");
    assert!(body["@odata.etag"].as_str().is_some_and(|e| e.starts_with("W/\"")));
    assert!(
        body["@odata.context"].as_str().is_some_and(|c| c.ends_with("$metadata#contacts(fullname,firstname)/$entity"))
    );
    assert!(body["contactid"].is_string());

    let id = url.rsplit('(').next().unwrap_or_default().trim_end_matches(')').to_owned();
    let got = api.get(&format!("accounts({id})?$select=name,accountnumber")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["name"], "Contoso");
    assert_eq!(got.json()["accountid"], id);
}

#[tokio::test]
async fn missing_required_columns_and_too_long_values_get_dataverse_error_bodies() {
    let api = Api::start().await;
    let r = api.post("salesorderdetails", &json!({"quantity": 1})).await;
    assert_eq!(r.status, 400);
    let (code, message) = r.error();
    assert_eq!(code, "0x80040203");
    assert!(message.contains("'salesorderid'"), "{message}");

    let r = api.post("tasks", &json!({"subject": "x".repeat(201)})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        (
            "0x80044331".to_owned(),
            "A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.".to_owned()
        )
    );
    assert!(r.header("REQ_ID").is_some());

    let r = api.send("POST", "accounts", &[], Some("{not json")).await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.contains("line 1"), "{}", r.body);

    let r = api.get("widgets").await;
    assert_eq!(r.status, 404);
    assert!(r.error().1.contains("'widgets'"));
    assert_eq!(api.sandbox.row_count("tasks"), 0);
}

#[tokio::test]
async fn upsert_by_alternate_key_creates_then_updates_and_honours_if_match_and_if_none_match() {
    let api = Api::start_with(keyed(&[("salesorder", &["ordernumber"])])).await;
    let key = "salesorders(ordernumber='AMZ-1''A')";
    // If-Match: * never creates.
    let r = api.patch(key, &[("If-Match", "*")], &json!({"name": "first"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error().1, "A record with the specified key values does not exist in salesorder entity");
    // Plain PATCH creates…
    let r = api.patch(key, &[], &json!({"name": "first"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let first = r.header("OData-EntityId").expect("id");
    // …and then updates the same row.
    let r = api.patch(key, &[], &json!({"name": "second"})).await;
    assert_eq!(r.header("OData-EntityId").expect("id"), first);
    assert_eq!(api.sandbox.row_count("salesorders"), 1);
    let row = api.get(&format!("{key}?$select=name,ordernumber")).await.json();
    assert_eq!((row["name"].as_str(), row["ordernumber"].as_str()), (Some("second"), Some("AMZ-1'A")));
    // If-None-Match: * never updates.
    let r = api.patch(key, &[("If-None-Match", "*")], &json!({"name": "third"})).await;
    assert_eq!(r.status, 412);
    assert_eq!(r.error(), (String::new(), "A record with matching key values already exists.".to_owned()));
    // Creating a second row with the same key is a duplicate.
    let r = api.post("salesorders", &json!({"ordernumber": "AMZ-1'A", "name": "dup"})).await;
    assert_eq!(r.status, 412);
    assert_eq!(r.error().0, "0x80040237");
    // A column that is not a key.
    let r = api.patch("salesorders(name='x')", &[], &json!({})).await;
    assert_eq!(r.status, 400);
    assert!(
        r.error()
            .1
            .starts_with("The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.salesorder'")
    );
    // PATCH by GUID that does not exist creates that row (upsert by primary key).
    let id = "7eb682f1-ca75-e511-80d4-00155d2a68d1";
    assert_eq!(api.patch(&format!("accounts({id})"), &[], &json!({"name": "by id"})).await.status, 204);
    assert_eq!(api.get(&format!("accounts({id})")).await.json()["name"], "by id");
    let r =
        api.patch("accounts(00000000-0000-0000-0000-0000000000ff)", &[("If-Match", "*")], &json!({"name": "x"})).await;
    assert_eq!(r.error().1, "account With Id = 00000000-0000-0000-0000-0000000000ff Does Not Exist");
}

#[tokio::test]
async fn etags_give_412_on_stale_writes_and_304_on_unchanged_reads() {
    let api = Api::start().await;
    let id = api.create("accounts", json!({"name": "v1"})).await;
    let path = format!("accounts({id})");
    let r = api.get(&path).await;
    let etag = r.json()["@odata.etag"].as_str().expect("etag").to_owned();
    assert_eq!(r.header("ETag").as_deref(), Some(etag.as_str()));
    assert_eq!(api.send("GET", &path, &[("If-None-Match", &etag)], None).await.status, 304);
    assert_eq!(api.patch(&path, &[("If-Match", &etag)], &json!({"name": "v2"})).await.status, 204);
    let stale = api.patch(&path, &[("If-Match", &etag)], &json!({"name": "v3"})).await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.error().1, "The version of the existing record doesn't match the RowVersion property provided.");
    assert_eq!(api.get(&path).await.json()["name"], "v2");
    assert_eq!(api.send("DELETE", &path, &[("If-Match", &etag)], None).await.status, 412);
    assert_eq!(api.send("DELETE", &path, &[], None).await.status, 204);
    assert_eq!(api.get(&path).await.status, 404);
}

#[tokio::test]
async fn lookups_bind_by_id_and_key_including_customer_lookups_and_expand_one_level() {
    let api = Api::start_with(keyed(&[("account", &["accountnumber"])])).await;
    let account = api.create("accounts", json!({"name": "Fabrikam", "accountnumber": "F-9"})).await;
    let contact = api
        .create(
            "contacts",
            json!({"firstname": "Jo", "lastname": "Park", "emailaddress1": "jo@example.com",
        "parentcustomerid_account@odata.bind": "accounts(accountnumber='F-9')"}),
        )
        .await;
    let order = api
        .create("salesorders", json!({"name": "SO", "customerid_contact@odata.bind": format!("/contacts({contact})")}))
        .await;
    let r = api
        .send(
            "GET",
            &format!(
                "salesorders({order})?$select=name,_customerid_value&$expand=customerid_contact($select=fullname)"
            ),
            &[("Prefer", "odata.include-annotations=\"*\"")],
            None,
        )
        .await;
    let body = r.json();
    assert_eq!(body["_customerid_value"], contact);
    assert_eq!(body["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "contact");
    assert_eq!(body["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"], "customerid_contact");
    assert_eq!(body["customerid_contact"]["fullname"], "Jo Park");
    let contacts = api
        .get(&format!("accounts({account})?$select=name&$expand=contact_customer_accounts($select=fullname)"))
        .await
        .json();
    assert_eq!(contacts["contact_customer_accounts"][0]["fullname"], "Jo Park");
    // Lower-casing or misspelling the navigation property is the classic mistake.
    let r = api.post("salesorders", &json!({"customerid@odata.bind": format!("/contacts({contact})")})).await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.starts_with("An undeclared property 'customerid' which only has property annotations"));
    // Binding to a row that does not exist.
    let r = api
        .post(
            "salesorders",
            &json!({"customerid_account@odata.bind": "/accounts(00000000-0000-0000-0000-00000000abcd)"}),
        )
        .await;
    assert_eq!(r.status, 404);
    // Binding the wrong table.
    let r = api.post("salesorders", &json!({"customerid_account@odata.bind": format!("/contacts({contact})")})).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn state_changes_follow_the_dataverse_rules() {
    let api = Api::start().await;
    let order = api.create("salesorders", json!({"name": "SO"})).await;
    let path = format!("salesorders({order})");
    let row = api.get(&format!("{path}?$select=statecode,statuscode,ordernumber")).await.json();
    assert_eq!((row["statecode"].as_i64(), row["statuscode"].as_i64()), (Some(0), Some(1)));
    assert!(row["ordernumber"].as_str().is_some_and(|n| n.starts_with("ORD-")), "ordernumber is generated");
    // A valid pair.
    assert_eq!(api.patch(&path, &[], &json!({"statecode": 1, "statuscode": 3})).await.status, 204);
    // An invalid pair.
    let r = api.patch(&path, &[], &json!({"statecode": 0, "statuscode": 3})).await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.contains("3 is not a valid status code for state code SalesOrderState.Active"), "{}", r.body);
    // Fulfilled only through FulfillSalesOrder.
    let r = api.patch(&path, &[], &json!({"statecode": 3, "statuscode": 100001})).await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.contains("use the FulfillSalesOrderRequest"), "{}", r.body);
    let r = api
        .post("FulfillSalesOrder", &json!({"OrderClose": {"subject": "done", "salesorderid@odata.bind": format!("/salesorders({order})")}, "Status": 100001}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let row = api.get(&format!("{path}?$select=statecode,statuscode")).await.json();
    assert_eq!((row["statecode"].as_i64(), row["statuscode"].as_i64()), (Some(3), Some(100001)));
    assert_eq!(api.sandbox.row_count("orderclosures"), 1);
    // Cases close through CloseIncident.
    let case = api.create("incidents", json!({"title": "Broken"})).await;
    let r = api.patch(&format!("incidents({case})"), &[], &json!({"statecode": 1, "statuscode": 5})).await;
    assert!(r.error().1.contains("use the CloseIncidentRequest"), "{}", r.body);
    let r = api
        .post("CloseIncident", &json!({"IncidentResolution": {"subject": "fixed", "incidentid@odata.bind": format!("/incidents({case})")}, "Status": 5}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.get(&format!("incidents({case})?$select=statecode")).await.json()["statecode"], 1);
}

#[tokio::test]
async fn a_closed_order_is_closed_once_and_read_only() {
    let api = Api::start().await;
    let close = |action: &str, order: &str| {
        let body = json!({"OrderClose": {"subject": action, "salesorderid@odata.bind": format!("/salesorders({order})")}, "Status": -1});
        (action.to_owned(), body)
    };
    for (first, second) in [
        ("FulfillSalesOrder", "FulfillSalesOrder"),
        ("CancelSalesOrder", "FulfillSalesOrder"),
        ("FulfillSalesOrder", "CancelSalesOrder"),
    ] {
        let order = api.create("salesorders", json!({"name": "SO"})).await;
        let (name, body) = close(first, &order);
        assert_eq!(api.post(&name, &body).await.status, 204);
        // A retried or racing second closure is refused, and nothing changes.
        let before = api.get(&format!("salesorders({order})?$select=statecode,statuscode")).await.json();
        let (name, body) = close(second, &order);
        let r = api.post(&name, &body).await;
        assert_eq!(r.status, 400, "{first} then {second}: {}", r.body);
        assert_eq!(r.error().0, "0x80040216", "{}", r.body);
        assert!(r.error().1.contains("The target state is invalid"), "{}", r.body);
        let after = api.get(&format!("salesorders({order})?$select=statecode,statuscode")).await.json();
        assert_eq!(
            (before["statecode"].clone(), before["statuscode"].clone()),
            (after["statecode"].clone(), after["statuscode"].clone())
        );
        // A closed order is read-only.
        let r = api.patch(&format!("salesorders({order})"), &[], &json!({"description": "shipped"})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.error().1.contains("Cannot Update a Read-Only Entity"), "{}", r.body);
    }
    assert_eq!(api.sandbox.row_count("orderclosures"), 3, "only the first closure of each order made its activity");
    // A submitted order closes normally; a second CloseIncident is refused too.
    let order = api.create("salesorders", json!({"name": "SO"})).await;
    assert_eq!(
        api.patch(&format!("salesorders({order})"), &[], &json!({"statecode": 1, "statuscode": 3})).await.status,
        204
    );
    let (name, body) = close("FulfillSalesOrder", &order);
    assert_eq!(api.post(&name, &body).await.status, 204);
    let case = api.create("incidents", json!({"title": "Broken"})).await;
    let resolve = json!({"IncidentResolution": {"subject": "fixed", "incidentid@odata.bind": format!("/incidents({case})")}, "Status": 5});
    assert_eq!(api.post("CloseIncident", &resolve).await.status, 204);
    assert_eq!(api.post("CloseIncident", &resolve).await.status, 400);
}

#[tokio::test]
async fn deleting_an_order_deletes_its_lines() {
    let api = Api::start().await;
    let order = api.create("salesorders", json!({"name": "SO"})).await;
    for n in 0..3 {
        api.create("salesorderdetails", json!({"salesorderid@odata.bind": format!("/salesorders({order})"), "quantity": n + 1, "isproductoverridden": true, "productdescription": "x"})).await;
    }
    let lines = api.get(&format!("salesorders({order})/order_details?$select=quantity")).await.json();
    assert_eq!(lines["value"].as_array().map(Vec::len), Some(3));
    assert_eq!(api.send("DELETE", &format!("salesorders({order})"), &[], None).await.status, 204);
    assert_eq!(api.sandbox.row_count("salesorderdetails"), 0);
}

#[tokio::test]
async fn single_columns_can_be_read_set_and_cleared() {
    let api = Api::start().await;
    let id = api.create("accounts", json!({"name": "Old", "description": "text"})).await;
    let r = api.get(&format!("accounts({id})/name")).await;
    assert_eq!(r.json()["value"], "Old");
    assert_eq!(api.send("PUT", &format!("accounts({id})/name"), &[], Some(r#"{"value":"New"}"#)).await.status, 204);
    assert_eq!(api.send("DELETE", &format!("accounts({id})/description"), &[], None).await.status, 204);
    let row = api.get(&format!("accounts({id})?$select=name,description")).await.json();
    assert_eq!((row["name"].as_str(), row["description"].is_null()), (Some("New"), true));
    let r = api.send("PUT", "accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)/name", &[], Some(r#"{"value":"x"}"#)).await;
    assert_eq!(r.status, 404, "a single-column PUT never creates");
}

#[tokio::test]
async fn deep_insert_creates_an_order_with_its_lines_and_the_metadata_lists_the_tables() {
    let api = Api::start().await;
    let r = api
        .post(
            "salesorders",
            &json!({"name": "Deep", "customerid_account": {"name": "New Co"},
            "order_details": [{"quantity": 1, "isproductoverridden": true, "productdescription": "A"},
                              {"quantity": 2, "isproductoverridden": true, "productdescription": "B"}]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!((api.sandbox.row_count("salesorderdetails"), api.sandbox.row_count("accounts")), (2, 1));
    let order = api.sandbox.rows("salesorders")[0].clone();
    let account = api.sandbox.rows("accounts")[0]["accountid"].clone();
    assert_eq!(order["_customerid_value"], account);
    let details = api.sandbox.rows("salesorderdetails");
    assert!(details.iter().all(|d| d["_salesorderid_value"] == order["salesorderid"]));
    // A failing child undoes the whole create.
    let r = api
        .post(
            "salesorders",
            &json!({"name": "Bad", "order_details": [{"quantity": 1, "productdescription": "x".repeat(501)}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(api.sandbox.row_count("salesorders"), 1);

    let metadata = api.get("$metadata").await;
    assert_eq!(metadata.status, 200);
    assert!(metadata.body.contains("<EntitySet Name=\"salesorders\" EntityType=\"mscrm.salesorder\" />"));
    assert!(metadata.body.contains("<NavigationProperty Name=\"customerid_contact\" Type=\"mscrm.contact\" />"));
}
