//! PII masking for fields that go to places where the buyer's data must not (notes,
//! descriptions, analytics targets): `mask`, `mask_email`, `mask_phone`, `redact`.

use ferry_model::pii::REDACTED;
use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::text_of;
use crate::pii_mask::{mask_email, mask_phone, mask_text};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("mask", |v: Value| Ok::<_, Error>(Value::from(mask_text(&text_of(&v, "mask")?))));
    env.add_filter("mask_email", |v: Value| Ok::<_, Error>(Value::from(mask_email(&text_of(&v, "mask_email")?))));
    env.add_filter("mask_phone", |v: Value| Ok::<_, Error>(Value::from(mask_phone(&text_of(&v, "mask_phone")?))));
    env.add_filter("redact", |_: Value| Value::from(REDACTED));
}
