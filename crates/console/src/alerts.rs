//! Alerts: each tenant's rules, checked by every node on a timer, delivered to a webhook
//! (Slack- and Teams-compatible JSON: `{"text": …}`) and, when the rule names recipients and
//! the node has an `[smtp]` section, by e-mail ([`crate::email`]), with a link to the console
//! page that explains them, exactly once per episode on each channel.
//!
//! An episode is one stretch of time a rule's condition holds for one subject (a host whose
//! breaker is open, a flow whose dead letters pile up). Its row in the store is what makes
//! "once" hold across restarts and nodes: the node that marks it fired (a conditional update
//! only one can win) is the one that sends it; a send that fails unmarks it, so the next check
//! tries again. When the condition stops holding the episode ends, and the next time it holds
//! is a new episode with an alert of its own. The e-mail of an episode is marked apart from
//! its webhook post (its own row, the subject with ` · e-mail` after it), so a mail server that
//! is down delays the e-mail alone and never sends the webhook twice; a node without `[smtp]`
//! leaves the e-mail to one that has it.
//!
//! Alerts carry no buyer data: subjects are hosts, flows and connection ids, and the texts are
//! counts and durations.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use ferry_store::{AlertEpisode, AlertRuleRow, AnyStore, Store as _, TenantId};

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// More than `above` dead letters of one flow within the last `minutes`.
    DeadLetters { above: u32, minutes: u32 },
    /// A breaker on one of the tenant's hosts open for longer than `seconds`.
    BreakerOpen { seconds: u64 },
    /// A connection whose credentials were refused (a dead letter of kind `auth`) within the
    /// last `minutes`.
    AuthFailure { minutes: u32 },
    /// A flow that finished nothing in the last complete hour when that hour of the week
    /// usually has work ([`crate::anomaly`]'s volume judgement, downwards to zero).
    FlowSilent,
    /// Any anomaly flag on a flow's volume or failure rate in the last complete hour.
    Anomaly,
}

impl Condition {
    /// What kind of trouble, in a few words (an e-mail's subject).
    pub fn title(&self) -> &'static str {
        match self {
            Condition::DeadLetters { .. } => "dead letters are piling up",
            Condition::BreakerOpen { .. } => "a remote system's circuit is open",
            Condition::AuthFailure { .. } => "credentials were refused",
            Condition::FlowSilent => "a flow went silent",
            Condition::Anomaly => "something unusual",
        }
    }

    /// Checks the numbers a user gave.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Condition::DeadLetters { above, minutes } => {
                if *minutes == 0 || *minutes > 7 * 24 * 60 {
                    return Err(format!("minutes must be 1 to 10080, got {minutes}"));
                }
                if *above > 1_000_000 {
                    return Err(format!("above must be at most 1000000, got {above}"));
                }
            }
            Condition::BreakerOpen { seconds } => {
                if *seconds > 7 * 24 * 3600 {
                    return Err(format!("seconds must be at most 604800, got {seconds}"));
                }
            }
            Condition::AuthFailure { minutes } => {
                if *minutes == 0 || *minutes > 7 * 24 * 60 {
                    return Err(format!("minutes must be 1 to 10080, got {minutes}"));
                }
            }
            Condition::FlowSilent | Condition::Anomaly => {}
        }
        Ok(())
    }
}

/// A rule as users write it: the condition and where its alerts go (a webhook, e-mail
/// recipients, or both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    #[serde(flatten)]
    pub condition: Condition,
    /// An `https://` (or, for a local receiver, `http://127.0.0.1…`) URL taking JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// E-mail recipients, sent through the node's `[smtp]` server; a node without one refuses
    /// a rule that names any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email: Vec<String>,
}

/// The most e-mail recipients one rule may name.
pub const MAX_RECIPIENTS: usize = 20;

impl Rule {
    pub fn check(&self) -> Result<(), String> {
        self.condition.check()?;
        if self.webhook.is_none() && self.email.is_empty() {
            return Err("a rule needs somewhere to send its alerts: a webhook, e-mail recipients, or both".into());
        }
        if let Some(url) = &self.webhook {
            check_webhook(url)?;
        }
        if self.email.len() > MAX_RECIPIENTS {
            return Err(format!(
                "a rule may name at most {MAX_RECIPIENTS} e-mail recipients, got {}",
                self.email.len()
            ));
        }
        for to in &self.email {
            crate::email::check_recipient(to).map_err(|e| format!("email: {e}"))?;
        }
        Ok(())
    }

    /// The rule as lists and the audit show it: the webhook's scheme and host only.
    pub fn shown(&self) -> Rule {
        Rule { webhook: self.webhook.as_deref().map(masked), ..self.clone() }
    }
}

/// A webhook as shown (lists, the API): its scheme and host only. A Slack or Teams webhook's
/// path is its secret.
pub fn masked(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}/…", rest.split(['/', '?']).next().unwrap_or_default()),
        None => "…".into(),
    }
}

/// A webhook must be `https://`; plain `http://` only to this machine (a local relay).
pub fn check_webhook(url: &str) -> Result<(), String> {
    let parsed = url.parse::<axum::http::Uri>().map_err(|e| format!("webhook `{url}` is not a URL: {e}"))?;
    let host = parsed.host().unwrap_or_default();
    match parsed.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if matches!(host, "127.0.0.1" | "localhost" | "[::1]") => Ok(()),
        _ => Err(format!("webhook `{url}` must be an https:// URL (http:// only to 127.0.0.1)")),
    }
}

/// Makes a rule of the tenant (audited). `email` says whether this node can send e-mail (it
/// has an `[smtp]` section): without it a rule naming recipients is refused, since its
/// e-mail would never go.
pub async fn add_rule(
    store: &AnyStore,
    tenant: &TenantId,
    rule: &Rule,
    actor: &str,
    email: bool,
) -> Result<i64, crate::ServiceError> {
    rule.check().map_err(crate::ServiceError::BadInput)?;
    if !rule.email.is_empty() && !email {
        return Err(crate::ServiceError::BadInput(
            "this rule names e-mail recipients, but this node has no [smtp] section in its config, so no e-mail \
             would ever go: add [smtp] (host, security, from, username and password_secret) or leave out the \
             recipients"
                .into(),
        ));
    }
    let json = serde_json::to_string(rule).map_err(|e| crate::ServiceError::BadInput(e.to_string()))?;
    let shown = serde_json::to_string(&rule.shown()).map_err(|e| crate::ServiceError::BadInput(e.to_string()))?;
    Ok(store.add_alert_rule(tenant, &json, &shown, actor).await?)
}

/// The tenant's rules, each parsed (a row that no longer parses is skipped with a warning).
pub async fn rules(store: &AnyStore, tenant: &TenantId) -> Result<Vec<(AlertRuleRow, Rule)>, crate::ServiceError> {
    let rows = store.alert_rules(tenant).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match serde_json::from_str::<Rule>(&row.rule) {
            Ok(rule) => Some((row, rule)),
            Err(e) => {
                tracing::warn!(tenant = %tenant, rule = row.id, error = %e, "an alert rule cannot be read; skipped");
                None
            }
        })
        .collect())
}

/// One condition holding for one subject now.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holding {
    subject: String,
    /// What is wrong, in words (no buyer data).
    text: String,
    /// Console page that explains it (relative to the console's base URL).
    page: String,
}

/// Checks every rule of `tenant` once and sends what is due to webhooks (no e-mail: see
/// [`check_tenant_with`]). `console` is the base URL that alert links start with (e.g.
/// `https://ferry.example.com`).
pub async fn check_tenant(
    store: &AnyStore,
    http: &reqwest::Client,
    tenant: &TenantId,
    console: &str,
    now: Timestamp,
) -> Result<usize, crate::ServiceError> {
    check_tenant_with(store, http, None, tenant, console, now).await
}

/// The episode subject an alert's e-mail is marked on, apart from its webhook post.
fn email_subject(subject: &str) -> String {
    format!("{subject} · e-mail")
}

/// Where one alert goes.
enum Channel<'a> {
    Webhook(&'a reqwest::Client, &'a str),
    Email(&'a crate::email::Mailer, &'a [String]),
}

impl Channel<'_> {
    /// The episode row this channel's sending is marked on.
    fn subject(&self, subject: &str) -> String {
        match self {
            Channel::Webhook(..) => subject.to_owned(),
            Channel::Email(..) => email_subject(subject),
        }
    }

    async fn send(&self, condition: &Condition, tenant: &TenantId, text: &str) -> Result<(), String> {
        match self {
            Channel::Webhook(http, url) => deliver(http, url, text).await,
            Channel::Email(mailer, to) => {
                let subject = format!("Ferry alert for tenant {tenant}: {}", condition.title());
                mailer.send(to, &subject, &format!("{text}\n")).await
            }
        }
    }
}

/// [`check_tenant`], with e-mail through `mail` for the rules that name recipients (`None`:
/// this node has no `[smtp]`, so another node sends their e-mail). Returns how many alerts went
/// out (a webhook post and an e-mail count one each).
pub async fn check_tenant_with(
    store: &AnyStore,
    http: &reqwest::Client,
    mail: Option<&crate::email::Mailer>,
    tenant: &TenantId,
    console: &str,
    now: Timestamp,
) -> Result<usize, crate::ServiceError> {
    let mut sent = 0;
    for (row, rule) in rules(store, tenant).await? {
        let holding = holding(store, tenant, &rule.condition, now).await?;
        let mut channels = Vec::new();
        if let Some(url) = &rule.webhook {
            channels.push(Channel::Webhook(http, url));
        }
        if let Some(mailer) = mail.filter(|_| !rule.email.is_empty()) {
            channels.push(Channel::Email(mailer, &rule.email));
        }
        // Every channel's episode rows, so the e-mail ones end too (on a node without
        // [smtp] as well).
        let mut subjects: Vec<String> = holding.iter().map(|h| h.subject.clone()).collect();
        subjects.extend(holding.iter().map(|h| email_subject(&h.subject)));
        store.end_alert_episodes(tenant, row.id, &subjects, now).await?;
        for h in holding {
            let text = format!("Ferry · tenant {tenant}: {} — {}{}", h.text, console.trim_end_matches('/'), h.page);
            for channel in &channels {
                let episode = store.alert_episode(tenant, row.id, &channel.subject(&h.subject), now).await?;
                if episode.fired_at.is_some() || !due(&rule.condition, &episode, now) {
                    continue;
                }
                // Only the node whose mark lands sends it.
                if !store.mark_alert_fired(episode.id, now).await? {
                    continue;
                }
                match channel.send(&rule.condition, tenant, &text).await {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        tracing::warn!(tenant = %tenant, rule = row.id, error = %e, "an alert could not be delivered; trying again at the next check");
                        store.unmark_alert_fired(episode.id).await?;
                    }
                }
            }
        }
    }
    Ok(sent)
}

/// Whether an episode has held long enough to alert.
fn due(condition: &Condition, episode: &AlertEpisode, now: Timestamp) -> bool {
    match condition {
        Condition::BreakerOpen { seconds } => {
            now.duration_since(episode.started_at)
                >= jiff::SignedDuration::from_secs(i64::try_from(*seconds).unwrap_or(i64::MAX))
        }
        Condition::DeadLetters { .. } | Condition::AuthFailure { .. } | Condition::FlowSilent | Condition::Anomaly => {
            true
        }
    }
}

async fn holding(
    store: &AnyStore,
    tenant: &TenantId,
    condition: &Condition,
    now: Timestamp,
) -> Result<Vec<Holding>, crate::ServiceError> {
    let since = |minutes: u32| now - jiff::SignedDuration::from_mins(i64::from(minutes));
    Ok(match condition {
        Condition::BreakerOpen { seconds } => {
            let hosts: Vec<String> = store.connections(tenant).await?.iter().map(|c| authority(&c.endpoint)).collect();
            let mut open: Vec<String> = store
                .breakers()
                .await?
                .into_iter()
                .filter(|b| b.state == "open" && hosts.contains(&b.host))
                .map(|b| b.host)
                .collect();
            open.sort();
            open.dedup();
            open.into_iter()
                .map(|host| Holding {
                    text: format!("the circuit to {host} has been open for over {seconds} s: calls to it are paused"),
                    page: "/api/v1/queue".into(),
                    subject: host,
                })
                .collect()
        }
        Condition::DeadLetters { above, minutes } => {
            let recent = store.dead_letters(tenant, true, crate::service::MAX_DEAD_LETTERS).await?;
            let mut by_flow: Vec<(String, u32)> = Vec::new();
            for d in recent.iter().filter(|d| d.created_at >= since(*minutes)) {
                match by_flow.iter_mut().find(|(f, _)| *f == d.flow) {
                    Some((_, n)) => *n += 1,
                    None => by_flow.push((d.flow.clone(), 1)),
                }
            }
            by_flow
                .into_iter()
                .filter(|(_, n)| n > above)
                .map(|(flow, n)| Holding {
                    text: format!("{n} dead letters of flow {flow} in the last {minutes} minutes (more than {above})"),
                    page: format!("/api/v1/dead-letters?flow={flow}"),
                    subject: flow,
                })
                .collect()
        }
        Condition::AuthFailure { minutes } => {
            let recent = store.dead_letters(tenant, true, crate::service::MAX_DEAD_LETTERS).await?;
            let mut flows: Vec<String> = recent
                .iter()
                .filter(|d| d.created_at >= since(*minutes) && d.error_kind == "auth")
                .map(|d| d.flow.clone())
                .collect();
            flows.sort();
            flows.dedup();
            flows
                .into_iter()
                .map(|flow| Holding {
                    text: format!("a remote refused the credentials of flow {flow}: check its connection's secrets"),
                    page: format!("/api/v1/dead-letters?flow={flow}"),
                    subject: flow,
                })
                .collect()
        }
        Condition::FlowSilent | Condition::Anomaly => {
            let flags = crate::anomaly::scan_flows(store, tenant, now).await?;
            flags
                .into_iter()
                .filter_map(|flag| match (condition, &flag.subject) {
                    (Condition::FlowSilent, crate::anomaly::Subject::FlowVolume { flow })
                        if flag.direction == crate::anomaly::Direction::Below && flag.observed.is_zero() =>
                    {
                        Some(Holding { text: flag.explain(), page: "/api/v1/anomalies".into(), subject: flow.clone() })
                    }
                    (Condition::Anomaly, _) => Some(Holding {
                        text: flag.explain(),
                        page: "/api/v1/anomalies".into(),
                        subject: flag.dedupe_key(),
                    }),
                    _ => None,
                })
                .collect()
        }
    })
}

/// Posts `{"text": …}`: what Slack's and Teams' incoming webhooks take.
async fn deliver(http: &reqwest::Client, url: &str, text: &str) -> Result<(), String> {
    let body = serde_json::json!({ "text": text }).to_string();
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("cannot reach the webhook: {e}"))?;
    if response.status().is_success() { Ok(()) } else { Err(format!("the webhook answered {}", response.status())) }
}

/// `host[:port]` of an endpoint URL: what the circuit breakers are keyed on.
pub fn authority(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or_default().to_owned()
}

/// How often a node checks every tenant's rules.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Checks every active tenant's rules every `every` until `stop` turns true, sending e-mail
/// through `mail` when the node has an `[smtp]` section. A check that fails (the store, say)
/// is logged and tried again at the next tick.
pub fn spawn(
    store: AnyStore,
    http: reqwest::Client,
    mail: Option<crate::email::Mailer>,
    console: String,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store.tenants().await {
                Ok(tenants) => {
                    for t in tenants.iter().filter(|t| t.status == ferry_store::TenantStatus::Active) {
                        let checked =
                            check_tenant_with(&store, &http, mail.as_ref(), &t.id, &console, Timestamp::now()).await;
                        if let Err(e) = checked {
                            tracing::warn!(tenant = %t.id, error = %e, "alert rules could not be checked");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "alert rules could not be checked: the tenants cannot be read"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}
