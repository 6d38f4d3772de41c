use ferry_model::{
    AmazonFulfillmentOrderId, AmazonMarketplaceId, AmazonOrderId, AmazonSellerSku, AmazonSettlementId, Asin, ClarityId,
    ConnectionId, DataverseId, FnoCustomerAccount, FnoSalesOrderNumber, IdError, RecordRef, Sku, SlOrderNumber, System,
    SystemId, TenantId,
};

fn rejects<T: std::str::FromStr<Err = IdError> + std::fmt::Debug>(kind: &str, value: &str) -> IdError {
    let err = value.parse::<T>().unwrap_err();
    assert_eq!(err.kind(), kind, "{value:?}");
    let text = err.to_string();
    assert!(text.contains(kind), "{text}");
    // The value is named in full, or cut after 64 characters when longer.
    let shown: String = value.chars().take(64).collect();
    let quoted = format!("{shown:?}");
    assert!(text.contains(quoted.trim_end_matches('"')), "{text}");
    assert_eq!(err.value().trim_end_matches('…'), shown);
    err
}

#[test]
fn amazon_order_id_is_3_7_7_digits() {
    let id: AmazonOrderId = "902-1106328-1059050".parse().unwrap();
    assert_eq!(id.as_str(), "902-1106328-1059050");
    assert_eq!(id.to_string(), "902-1106328-1059050");
    for bad in [
        "",
        "TEST_CASE_200",
        "485-734-5434857",
        "902-1106328-105905",
        "902-1106328-10590501",
        "902 1106328 1059050",
        "902-1106328-1059050\n",
        "9O2-1106328-1059050",
    ] {
        let err = rejects::<AmazonOrderId>("AmazonOrderId", bad);
        assert!(err.reason().contains("3-7-7"));
    }
}

#[test]
fn asin_is_ten_uppercase_alphanumerics() {
    assert!(Asin::new("B07XJ8C8F5").is_ok());
    assert!(Asin::new("059035342X").is_ok());
    for bad in ["b07xj8c8f5", "B07XJ8C8F", "B07XJ8C8F55", "B07XJ-C8F5", ""] {
        rejects::<Asin>("Asin", bad);
    }
}

#[test]
fn fulfillment_order_id_is_up_to_40_safe_characters() {
    assert!(AmazonFulfillmentOrderId::new("ferry_114-3941689-8772232").is_ok());
    assert!(AmazonFulfillmentOrderId::new("a".repeat(40)).is_ok());
    rejects::<AmazonFulfillmentOrderId>("AmazonFulfillmentOrderId", &"a".repeat(41));
    rejects::<AmazonFulfillmentOrderId>("AmazonFulfillmentOrderId", "order 1");
    rejects::<AmazonFulfillmentOrderId>("AmazonFulfillmentOrderId", "order#1");
    rejects::<AmazonFulfillmentOrderId>("AmazonFulfillmentOrderId", "");
}

#[test]
fn skus_allow_free_text_within_limits() {
    assert!(AmazonSellerSku::new("MUG blue/12oz (v2)").is_ok());
    rejects::<AmazonSellerSku>("AmazonSellerSku", " MUG");
    rejects::<AmazonSellerSku>("AmazonSellerSku", "MUG\t1");
    rejects::<AmazonSellerSku>("AmazonSellerSku", &"x".repeat(51));
    // A canonical SKU may be longer than Amazon allows; converting back checks again.
    let long = Sku::new("x".repeat(60)).unwrap();
    assert!(AmazonSellerSku::try_from(long).is_err());
    let amazon = AmazonSellerSku::new("MUG-1").unwrap();
    assert_eq!(Sku::from(amazon).as_str(), "MUG-1");
    rejects::<Sku>("Sku", &"x".repeat(101));
}

#[test]
fn marketplace_and_settlement_ids() {
    assert!(AmazonMarketplaceId::new("A1F83G8C2ARO7P").is_ok());
    rejects::<AmazonMarketplaceId>("AmazonMarketplaceId", "atvpdkikx0der");
    assert!(AmazonSettlementId::new("11796400482").is_ok());
    rejects::<AmazonSettlementId>("AmazonSettlementId", "1179-6400");
}

#[test]
fn dynamics_keys_respect_column_lengths() {
    assert!(FnoSalesOrderNumber::new("SO-000123").is_ok());
    rejects::<FnoSalesOrderNumber>("FnoSalesOrderNumber", &"9".repeat(21));
    assert!(FnoCustomerAccount::new("US-027").is_ok());
    rejects::<FnoCustomerAccount>("FnoCustomerAccount", "");
    assert!(SlOrderNumber::new("1".repeat(15)).is_ok());
    rejects::<SlOrderNumber>("SlOrderNumber", &"1".repeat(16));
    // SQL Server char padding must be trimmed by the connector, not carried along.
    rejects::<SlOrderNumber>("SlOrderNumber", "OR000123   ");
    assert!(ClarityId::new("42").is_ok());
    rejects::<ClarityId>("ClarityId", "");
}

#[test]
fn tenant_and_connection_ids_are_slugs() {
    for good in ["acme", "acme-eu_2", "0", &"a".repeat(64)] {
        assert!(TenantId::new(good).is_ok(), "{good}");
        assert!(ConnectionId::new(good).is_ok(), "{good}");
    }
    for bad in ["", "Acme", "acme eu", "acme.eu", "acmé", &"a".repeat(65)] {
        rejects::<TenantId>("TenantId", bad);
        rejects::<ConnectionId>("ConnectionId", bad);
    }
}

#[test]
fn error_value_is_cut_when_huge() {
    let huge = "z".repeat(10_000);
    let err = TenantId::new(huge).unwrap_err();
    assert!(err.value().chars().count() <= 65);
    assert!(err.to_string().len() < 200);
}

#[test]
fn dataverse_id_is_a_non_nil_guid() {
    let plain: DataverseId = "7EB682F1-CA75-E511-80D4-00155D2A68D1".parse().unwrap();
    let braced: DataverseId = "{7eb682f1-ca75-e511-80d4-00155d2a68d1}".parse().unwrap();
    assert_eq!(plain, braced);
    assert_eq!(plain.to_string(), "7eb682f1-ca75-e511-80d4-00155d2a68d1");
    rejects::<DataverseId>("DataverseId", "00000000-0000-0000-0000-000000000000");
    rejects::<DataverseId>("DataverseId", "7eb682f1");
    assert!(DataverseId::new(uuid_nil()).is_err());
}

fn uuid_nil() -> uuid::Uuid {
    uuid::Uuid::nil()
}

#[test]
fn ids_serialize_as_plain_strings_and_validate_on_deserialize() {
    let id = AmazonOrderId::new("114-3941689-8772232").unwrap();
    assert_eq!(serde_json::to_string(&id).unwrap(), r#""114-3941689-8772232""#);
    assert_eq!(serde_json::from_str::<AmazonOrderId>(r#""114-3941689-8772232""#).unwrap(), id);
    let err = serde_json::from_str::<AmazonOrderId>(r#""114-39""#).unwrap_err();
    assert!(err.to_string().contains("AmazonOrderId"), "{err}");
    let guid: DataverseId = serde_json::from_str(r#""7eb682f1-ca75-e511-80d4-00155d2a68d1""#).unwrap();
    assert_eq!(serde_json::to_string(&guid).unwrap(), r#""7eb682f1-ca75-e511-80d4-00155d2a68d1""#);
    assert!(serde_json::from_str::<TenantId>(r#""Bad Tenant""#).is_err());
}

#[test]
fn typed_ids_become_record_refs_and_back() {
    let id = AmazonOrderId::new("114-3941689-8772232").unwrap();
    let reference = id.record_ref();
    assert_eq!(reference.system(), System::Amazon);
    assert_eq!(reference.entity(), "order");
    assert_eq!(reference.to_string(), "amazon:order:114-3941689-8772232");
    assert_eq!(reference.typed::<AmazonOrderId>(), Ok(id));
    // Same text, other type: refused because system and entity differ.
    let err = reference.typed::<FnoSalesOrderNumber>().unwrap_err();
    assert_eq!(err.kind(), "FnoSalesOrderNumber");
    assert!(reference.typed::<AmazonFulfillmentOrderId>().is_err());

    let so = FnoSalesOrderNumber::new("SO-1").unwrap().record_ref();
    assert_eq!(so.system(), System::FinanceOperations);
    assert_eq!(so.entity(), "sales_order");
    let sl = SlOrderNumber::new("OR000123").unwrap().record_ref();
    assert_ne!(so, sl);
}

#[test]
fn record_refs_validate_entity_and_id() {
    let guid: DataverseId = "7eb682f1-ca75-e511-80d4-00155d2a68d1".parse().unwrap();
    let contact = RecordRef::dataverse("contact", guid).unwrap();
    assert_eq!(contact.to_string(), "dataverse:contact:7eb682f1-ca75-e511-80d4-00155d2a68d1");
    let clarity = RecordRef::clarity("account", &ClarityId::new("9001").unwrap()).unwrap();
    assert_eq!(clarity.system(), System::Clarity);

    assert!(RecordRef::new(System::Amazon, "", "1").is_err());
    assert!(RecordRef::new(System::Amazon, "sales order", "1").is_err());
    assert!(RecordRef::new(System::Amazon, "order", "").is_err());
    assert!(RecordRef::new(System::Amazon, "order", "a\nb").is_err());
    assert!(RecordRef::new(System::Amazon, "order", "x".repeat(257)).is_err());

    let json = serde_json::to_value(&contact).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"system": "dataverse", "entity": "contact", "id": "7eb682f1-ca75-e511-80d4-00155d2a68d1"})
    );
    assert_eq!(serde_json::from_value::<RecordRef>(json).unwrap(), contact);
    let bad = serde_json::json!({"system": "dataverse", "entity": "contact", "id": ""});
    assert!(serde_json::from_value::<RecordRef>(bad).is_err());
    let unknown_system = serde_json::json!({"system": "sap", "entity": "order", "id": "1"});
    assert!(serde_json::from_value::<RecordRef>(unknown_system).is_err());
}

#[test]
fn system_names_round_trip() {
    for system in System::ALL {
        assert_eq!(system.as_str().parse::<System>(), Ok(system));
        assert_eq!(serde_json::to_value(system).unwrap(), serde_json::Value::String(system.as_str().to_owned()));
    }
    assert_eq!(System::FinanceOperations.to_string(), "finance_operations");
    assert!("Amazon".parse::<System>().is_err());
}
