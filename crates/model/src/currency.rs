//! ISO 4217 currency codes with their minor units.
//!
//! Only codes in the table below can be constructed, so a typo such as `"USS"` or a
//! lowercase `"usd"` from a mapping is rejected where it enters, not when a ledger
//! refuses the posting later.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a currency we know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// Not three uppercase ASCII letters.
    #[error("invalid currency code {0:?}: expected 3 uppercase ASCII letters (ISO 4217)")]
    Malformed(String),
    /// Well formed but not an active ISO 4217 code in our table.
    #[error("unknown currency code {0:?}: not an ISO 4217 currency")]
    Unknown(String),
}

/// An ISO 4217 currency. `Copy` and cheap: the code and its minor units travel together
/// so rounding never needs a lookup.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

/// Defines one associated constant per code and the lookup table from the same list, so the
/// two can never disagree.
macro_rules! currencies {
    ($($code:ident $minor:literal),+ $(,)?) => {
        #[allow(missing_docs)]
        impl Currency {
            $(pub const $code: Currency = Currency::known(stringify!($code), $minor);)+
        }

        /// Sorted by code (checked by a test) for binary search.
        const TABLE: &[Currency] = &[$(Currency::$code),+];
    };
}

// Active ISO 4217 codes (list as of 2025), minor units per the standard. Includes every
// Amazon marketplace currency (USD CAD MXN BRL GBP EUR SEK PLN TRY EGP AED SAR INR JPY AUD
// SGD CNY ZAR). Withdrawn codes that still appear in old records (ANG, BGN, HRK) are kept
// so historical settlements still parse. Precious metals and testing codes are left out:
// they are never a price.
currencies! {
    AED 2, AFN 2, ALL 2, AMD 2, ANG 2, AOA 2, ARS 2, AUD 2, AWG 2, AZN 2,
    BAM 2, BBD 2, BDT 2, BGN 2, BHD 3, BIF 0, BMD 2, BND 2, BOB 2, BRL 2, BSD 2, BTN 2,
    BWP 2, BYN 2, BZD 2,
    CAD 2, CDF 2, CHF 2, CLF 4, CLP 0, CNY 2, COP 2, CRC 2, CUP 2, CVE 2, CZK 2,
    DJF 0, DKK 2, DOP 2, DZD 2,
    EGP 2, ERN 2, ETB 2, EUR 2,
    FJD 2, FKP 2,
    GBP 2, GEL 2, GHS 2, GIP 2, GMD 2, GNF 0, GTQ 2, GYD 2,
    HKD 2, HNL 2, HRK 2, HTG 2, HUF 2,
    IDR 2, ILS 2, INR 2, IQD 3, IRR 2, ISK 0,
    JMD 2, JOD 3, JPY 0,
    KES 2, KGS 2, KHR 2, KMF 0, KPW 2, KRW 0, KWD 3, KYD 2, KZT 2,
    LAK 2, LBP 2, LKR 2, LRD 2, LSL 2, LYD 3,
    MAD 2, MDL 2, MGA 2, MKD 2, MMK 2, MNT 2, MOP 2, MRU 2, MUR 2, MVR 2, MWK 2, MXN 2,
    MYR 2, MZN 2,
    NAD 2, NGN 2, NIO 2, NOK 2, NPR 2, NZD 2,
    OMR 3,
    PAB 2, PEN 2, PGK 2, PHP 2, PKR 2, PLN 2, PYG 0,
    QAR 2,
    RON 2, RSD 2, RUB 2, RWF 0,
    SAR 2, SBD 2, SCR 2, SDG 2, SEK 2, SGD 2, SHP 2, SLE 2, SOS 2, SRD 2, SSP 2, STN 2,
    SVC 2, SYP 2, SZL 2,
    THB 2, TJS 2, TMT 2, TND 3, TOP 2, TRY 2, TTD 2, TWD 2, TZS 2,
    UAH 2, UGX 0, USD 2, UYI 0, UYU 2, UYW 4, UZS 2,
    VED 2, VES 2, VND 0, VUV 0,
    WST 2,
    XAF 0, XCD 2, XCG 2, XOF 0, XPF 0,
    YER 2,
    ZAR 2, ZMW 2, ZWG 2,
}

impl Currency {
    /// Builds a table entry; only used by the `currencies!` list, whose codes are literals.
    const fn known(code: &'static str, minor_units: u8) -> Currency {
        let b = code.as_bytes();
        Currency { code: [b[0], b[1], b[2]], minor_units }
    }

    /// Looks a code up in the ISO 4217 table. Case-sensitive on purpose: ISO codes are
    /// uppercase and every API we talk to sends them that way.
    pub fn from_code(code: &str) -> Result<Currency, CurrencyError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(CurrencyError::Malformed(crate::ids::excerpt(code)));
        }
        TABLE
            .binary_search_by(|c| c.code.as_slice().cmp(bytes))
            .map(|i| TABLE[i])
            .map_err(|_| CurrencyError::Unknown(code.to_owned()))
    }

    /// The three-letter code, e.g. `"USD"`.
    pub fn code(&self) -> &str {
        // The bytes come from the table or a checked parse: always ASCII.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Digits after the decimal point in the currency's smallest unit (JPY 0, USD 2, KWD 3).
    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }

    /// Every currency in the table, sorted by code.
    pub fn all() -> &'static [Currency] {
        TABLE
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::from_code(&value)
    }
}

impl TryFrom<&str> for Currency {
    type Error = CurrencyError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Currency::from_code(value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn every_entry_round_trips_through_its_code() {
        for c in Currency::all() {
            assert_eq!(Currency::from_code(c.code()), Ok(*c));
        }
    }
}
