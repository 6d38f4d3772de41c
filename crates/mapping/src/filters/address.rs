//! Address splitting and joining: street lines, city/state/postal lines, state and
//! province codes, ISO 3166 country codes, postal code normalisation.
//!
//! Street text is PII, so messages never repeat it; codes and country names are not.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::{attr, attr_text, excerpt, fail, kind_name, text_of};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("street_lines", |v: Value| street_lines(&v).map(Value::from));
    env.add_filter("street_line", street_line);
    env.add_filter("split_street", split_street);
    env.add_filter("join_address", join_address);
    env.add_filter("parse_city_line", parse_city_line);
    env.add_filter("country_code", |v: Value| country(&v, "country_code").map(|c| Value::from(c.1)));
    env.add_filter("country_alpha3", |v: Value| country(&v, "country_alpha3").map(|c| Value::from(c.2)));
    env.add_filter("country_name", |v: Value| country(&v, "country_name").map(|c| Value::from(title(c.0[0]))));
    env.add_filter("state_code", state_code);
    env.add_filter("postal_code", postal_code);
}

/// (names in lower case, alpha-2, alpha-3). The Amazon marketplaces' countries and the
/// usual trading partners; an unknown country is an error, not a guess.
#[rustfmt::skip]
const COUNTRIES: &[(&[&str], &str, &str)] = &[
    (&["united states", "united states of america", "usa", "u.s.a.", "u.s.", "america"], "US", "USA"),
    (&["canada"], "CA", "CAN"), (&["mexico", "méxico"], "MX", "MEX"), (&["brazil", "brasil"], "BR", "BRA"),
    (&["united kingdom", "great britain", "uk", "england", "scotland", "wales", "northern ireland"], "GB", "GBR"),
    (&["germany", "deutschland"], "DE", "DEU"), (&["france"], "FR", "FRA"), (&["italy", "italia"], "IT", "ITA"),
    (&["spain", "españa", "espana"], "ES", "ESP"), (&["netherlands", "the netherlands", "holland", "nederland"], "NL", "NLD"),
    (&["sweden", "sverige"], "SE", "SWE"), (&["poland", "polska"], "PL", "POL"), (&["belgium", "belgique", "belgië"], "BE", "BEL"),
    (&["ireland", "éire"], "IE", "IRL"), (&["turkey", "türkiye", "turkiye"], "TR", "TUR"),
    (&["united arab emirates", "uae"], "AE", "ARE"), (&["saudi arabia"], "SA", "SAU"), (&["egypt"], "EG", "EGY"),
    (&["india"], "IN", "IND"), (&["japan", "日本"], "JP", "JPN"), (&["australia"], "AU", "AUS"),
    (&["singapore"], "SG", "SGP"), (&["china", "people's republic of china"], "CN", "CHN"),
    (&["south korea", "korea", "republic of korea"], "KR", "KOR"), (&["new zealand"], "NZ", "NZL"),
    (&["switzerland", "schweiz", "suisse"], "CH", "CHE"), (&["austria", "österreich"], "AT", "AUT"),
    (&["denmark", "danmark"], "DK", "DNK"), (&["norway", "norge"], "NO", "NOR"), (&["finland", "suomi"], "FI", "FIN"),
    (&["portugal"], "PT", "PRT"), (&["czechia", "czech republic"], "CZ", "CZE"), (&["greece"], "GR", "GRC"),
    (&["hungary"], "HU", "HUN"), (&["romania"], "RO", "ROU"), (&["israel"], "IL", "ISR"),
    (&["south africa"], "ZA", "ZAF"), (&["argentina"], "AR", "ARG"), (&["chile"], "CL", "CHL"),
    (&["colombia"], "CO", "COL"), (&["peru"], "PE", "PER"), (&["philippines"], "PH", "PHL"),
    (&["thailand"], "TH", "THA"), (&["malaysia"], "MY", "MYS"), (&["indonesia"], "ID", "IDN"),
    (&["vietnam", "viet nam"], "VN", "VNM"), (&["hong kong"], "HK", "HKG"), (&["taiwan"], "TW", "TWN"),
    (&["luxembourg"], "LU", "LUX"), (&["puerto rico"], "PR", "PRI"), (&["iceland"], "IS", "ISL"),
    (&["slovakia"], "SK", "SVK"), (&["slovenia"], "SI", "SVN"), (&["croatia"], "HR", "HRV"),
    (&["bulgaria"], "BG", "BGR"), (&["estonia"], "EE", "EST"), (&["latvia"], "LV", "LVA"), (&["lithuania"], "LT", "LTU"),
    (&["ukraine"], "UA", "UKR"), (&["nigeria"], "NG", "NGA"), (&["kenya"], "KE", "KEN"), (&["morocco"], "MA", "MAR"),
    (&["qatar"], "QA", "QAT"), (&["kuwait"], "KW", "KWT"), (&["pakistan"], "PK", "PAK"), (&["bangladesh"], "BD", "BGD"),
];

#[rustfmt::skip]
const US_STATES: &[(&str, &str)] = &[
    ("alabama","AL"),("alaska","AK"),("arizona","AZ"),("arkansas","AR"),("california","CA"),("colorado","CO"),
    ("connecticut","CT"),("delaware","DE"),("district of columbia","DC"),("florida","FL"),("georgia","GA"),
    ("hawaii","HI"),("idaho","ID"),("illinois","IL"),("indiana","IN"),("iowa","IA"),("kansas","KS"),
    ("kentucky","KY"),("louisiana","LA"),("maine","ME"),("maryland","MD"),("massachusetts","MA"),
    ("michigan","MI"),("minnesota","MN"),("mississippi","MS"),("missouri","MO"),("montana","MT"),
    ("nebraska","NE"),("nevada","NV"),("new hampshire","NH"),("new jersey","NJ"),("new mexico","NM"),
    ("new york","NY"),("north carolina","NC"),("north dakota","ND"),("ohio","OH"),("oklahoma","OK"),
    ("oregon","OR"),("pennsylvania","PA"),("rhode island","RI"),("south carolina","SC"),("south dakota","SD"),
    ("tennessee","TN"),("texas","TX"),("utah","UT"),("vermont","VT"),("virginia","VA"),("washington","WA"),
    ("west virginia","WV"),("wisconsin","WI"),("wyoming","WY"),("puerto rico","PR"),("guam","GU"),
    ("virgin islands","VI"),("armed forces americas","AA"),("armed forces europe","AE"),("armed forces pacific","AP"),
];

#[rustfmt::skip]
const CA_PROVINCES: &[(&str, &str)] = &[
    ("alberta","AB"),("british columbia","BC"),("manitoba","MB"),("new brunswick","NB"),
    ("newfoundland and labrador","NL"),("newfoundland","NL"),("nova scotia","NS"),("northwest territories","NT"),
    ("nunavut","NU"),("ontario","ON"),("prince edward island","PE"),("quebec","QC"),("québec","QC"),
    ("saskatchewan","SK"),("yukon","YT"),
];

fn title(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resolves a country name, alpha-2 or alpha-3 code.
fn country(value: &Value, what: &str) -> Result<&'static (&'static [&'static str], &'static str, &'static str), Error> {
    let text = text_of(value, what)?;
    let key = text.trim().trim_end_matches('.').to_lowercase();
    COUNTRIES
        .iter()
        .find(|(names, a2, a3)| {
            key.eq_ignore_ascii_case(a2) || key.eq_ignore_ascii_case(a3) || names.contains(&key.as_str())
        })
        .ok_or_else(|| fail(format!("{what}: unknown country {}", excerpt(text.trim()))))
}

/// Street lines of an address object (Amazon `AddressLine1..3`, Dataverse `line1..3`,
/// canonical `lines`, web-store `street`/`address1..`) or of a multi-line string.
fn street_lines(value: &Value) -> Result<Vec<String>, Error> {
    match value.kind() {
        ValueKind::String => Ok(value
            .as_str()
            .unwrap_or_default()
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()),
        ValueKind::Map => {
            if let Some(lines) = attr(value, "lines") {
                return street_lines_of_list(&lines);
            }
            let keys: &[&[&str]] = &[
                &["AddressLine1", "line1", "address1", "addressLine1", "street1", "Street", "street"],
                &["AddressLine2", "line2", "address2", "addressLine2", "street2"],
                &["AddressLine3", "line3", "address3", "addressLine3", "street3"],
            ];
            Ok(keys.iter().filter_map(|k| attr_text(value, k)).collect())
        }
        ValueKind::Seq => street_lines_of_list(value),
        _ => Err(fail(format!("street_lines: expected an address or text, got {}", kind_name(value)))),
    }
}

fn street_lines_of_list(value: &Value) -> Result<Vec<String>, Error> {
    let iter = value.try_iter().map_err(|_| fail("street_lines: `lines` is not a list"))?;
    Ok(iter.filter_map(|l| l.as_str().map(|s| s.trim().to_owned())).filter(|l| !l.is_empty()).collect())
}

/// `order.ShippingAddress | street_line(2)`: the n-th street line (1-based) or none.
fn street_line(value: Value, n: usize) -> Result<Value, Error> {
    if n == 0 {
        return Err(fail("street_line: lines are numbered from 1"));
    }
    Ok(street_lines(&value)?.into_iter().nth(n - 1).map(Value::from).unwrap_or(Value::from(())))
}

/// `street | split_street(width=35, max_lines=3)`: wraps one long street text at word
/// boundaries into the target's line width (F&O 60, SL 30, carriers 35).
fn split_street(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let width: Option<usize> = kwargs.get("width")?;
    let max_lines: Option<usize> = kwargs.get("max_lines")?;
    kwargs.assert_all_used()?;
    let (width, max_lines) = (width.unwrap_or(35).max(5), max_lines.unwrap_or(3).max(1));
    let mut lines: Vec<String> = Vec::new();
    for part in street_lines(&value)?.iter().flat_map(|l| l.split(", ")) {
        let mut current = String::new();
        for word in part.split_whitespace() {
            if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        if !current.is_empty() {
            lines.push(current);
        }
    }
    if lines.len() > max_lines {
        return Err(fail(format!(
            "split_street: the street needs {} lines of {width} characters, the target has {max_lines}",
            lines.len()
        )));
    }
    Ok(Value::from(lines))
}

/// One-line address: street lines, city, `STATE POSTAL`, country code.
fn join_address(value: Value, sep: Option<&str>) -> Result<Value, Error> {
    if value.kind() != ValueKind::Map {
        return Err(fail(format!("join_address: expected an address, got {}", kind_name(&value))));
    }
    let mut parts = street_lines(&value)?;
    if let Some(city) = attr_text(&value, &["City", "city", "locality"]) {
        parts.push(city);
    }
    let state = attr_text(&value, &["StateOrRegion", "stateorprovince", "state_or_province", "state", "region"]);
    let postal = attr_text(&value, &["PostalCode", "postalcode", "postal_code", "zip", "postalCode"]);
    let region: Vec<String> = [state, postal].into_iter().flatten().collect();
    if !region.is_empty() {
        parts.push(region.join(" "));
    }
    if let Some(country) = attr_text(&value, &["CountryCode", "country", "country_code", "countryCode"]) {
        parts.push(country);
    }
    Ok(Value::from(parts.join(sep.unwrap_or(", "))))
}

/// `"Seattle, WA 98109-5210"` → `{city, state, postal_code}` (US/CA style city lines).
fn parse_city_line(value: Value) -> Result<Value, Error> {
    let text = text_of(&value, "parse_city_line")?;
    let (city, rest) = text.rsplit_once(',').ok_or_else(|| fail("parse_city_line: expected \"City, ST POSTAL\""))?;
    let mut words = rest.split_whitespace();
    let state = words.next().ok_or_else(|| fail("parse_city_line: the state is missing after the comma"))?;
    let postal: Vec<&str> = words.collect();
    let mut map = std::collections::BTreeMap::new();
    map.insert("city", Value::from(city.trim()));
    map.insert("state", Value::from(state));
    map.insert("postal_code", if postal.is_empty() { Value::from(()) } else { Value::from(postal.join(" ")) });
    Ok(Value::from(map))
}

/// `"Washington" | state_code('US')` → `WA`; a valid code passes through. For countries
/// without a table the trimmed input is returned unchanged.
fn state_code(value: Value, country_arg: Option<&str>) -> Result<Value, Error> {
    let text = text_of(&value, "state_code")?;
    let text = text.trim();
    let table = match country_arg.unwrap_or("US") {
        "US" | "USA" => US_STATES,
        "CA" | "CAN" => CA_PROVINCES,
        _ => return Ok(Value::from(text)),
    };
    let key = text.trim_end_matches('.').to_lowercase();
    table
        .iter()
        .find(|(name, code)| *name == key || code.eq_ignore_ascii_case(&key))
        .map(|(_, code)| Value::from(*code))
        .ok_or_else(|| {
            fail(format!("state_code: unknown state or province {} for {}", excerpt(text), country_arg.unwrap_or("US")))
        })
}

/// Normalises a postal code for its country: US `98109` / `98109-5210`, CA `K1A 0B1`,
/// GB `SW1A 1AA`, others trimmed and upper-cased.
fn postal_code(value: Value, country_arg: Option<&str>) -> Result<Value, Error> {
    let raw = text_of(&value, "postal_code")?;
    let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    let bad = |what: &str| {
        fail(format!("postal_code: not a valid {what} postal code ({} characters)", raw.trim().chars().count()))
    };
    let country_code = country_arg.unwrap_or("US");
    Ok(Value::from(match country_code {
        "US" => {
            if !compact.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("US"));
            }
            match compact.len() {
                5 => compact,
                9 => format!("{}-{}", &compact[..5], &compact[5..]),
                _ => return Err(bad("US")),
            }
        }
        "CA" => {
            let b = compact.as_bytes();
            let shape = b.len() == 6
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| if i % 2 == 0 { c.is_ascii_alphabetic() } else { c.is_ascii_digit() });
            if !shape {
                return Err(bad("Canadian"));
            }
            format!("{} {}", &compact[..3], &compact[3..])
        }
        "GB" => {
            if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
                return Err(bad("UK"));
            }
            format!("{} {}", &compact[..compact.len() - 3], &compact[compact.len() - 3..])
        }
        _ => raw.trim().to_uppercase(),
    }))
}
