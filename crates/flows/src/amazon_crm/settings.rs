//! The settings a built-in flow reads from its flow file's `settings:` block, with defaults.

use std::collections::BTreeMap;

use serde_json::Value;

/// What of an Amazon buyer reaches the CRM (Amazon's Data Protection Policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuyerPii {
    /// Name, email, phone and address, read through a Restricted Data Token.
    Full,
    /// A guest contact with Amazon's relay email only; no Restricted Data Token is asked for.
    Guest,
}

/// Settings of the order flows.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSettings {
    pub buyer_pii: BuyerPii,
    /// The CRM price list orders are priced on.
    pub price_list: String,
    /// The CRM unit order lines are counted in.
    pub unit: String,
}

impl FlowSettings {
    /// Reads the settings; a wrong value is an error naming the setting.
    pub fn from_flow(flow: &str, settings: &BTreeMap<String, Value>) -> Result<Self, String> {
        let text = |name: &str, default: &str| -> Result<String, String> {
            match settings.get(name) {
                None => Ok(default.to_owned()),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                Some(other) => Err(format!("flow {flow}: settings.{name} must be a non-empty text, got {other}")),
            }
        };
        let buyer_pii = match text("buyer_pii", "guest")?.as_str() {
            "full" => BuyerPii::Full,
            "guest" => BuyerPii::Guest,
            other => return Err(format!("flow {flow}: settings.buyer_pii must be `full` or `guest`, got `{other}`")),
        };
        Ok(FlowSettings {
            buyer_pii,
            price_list: text("price_list", "Default Price List")?,
            unit: text("unit", "Primary Unit")?,
        })
    }
}
