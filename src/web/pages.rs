//! The pages of subscription and preferences, rendered from one typed context with the
//! team's templates (`abonnement.html`, `preferences.html`); each page with a form gets the
//! CSRF token of its action.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;

use super::csrf;
use super::error::WebError;
use super::subscribe::Subscriptions;
use crate::publish::Publisher;

/// A publication as a form offers it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ListChoice {
    pub(crate) id: String,
    pub(crate) title: String,
    /// Ticked on the preferences page.
    pub(crate) active: bool,
}

/// Everything the two templates read. Every key is always present (the template engine is
/// strict about undefined values); `page` says which page of the template is shown.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct PageContext {
    pub(crate) page: &'static str,
    pub(crate) heading: &'static str,
    pub(crate) lists: Vec<ListChoice>,
    pub(crate) selected: String,
    pub(crate) email: String,
    pub(crate) message: Option<&'static str>,
    pub(crate) error: Option<&'static str>,
    pub(crate) days: i64,
    pub(crate) list_title: String,
    /// The path the page's forms post to; empty on a page without a form.
    pub(crate) action: String,
    /// The CSRF token of `action`, filled by [`Pages::render`].
    pub(crate) csrf: String,
    /// On the "form refused" page: where to get a fresh form.
    pub(crate) retry: String,
}

impl PageContext {
    pub(crate) fn new(page: &'static str, heading: &'static str) -> Self {
        PageContext {
            page,
            heading,
            ..PageContext::default()
        }
    }

    /// The same page with a form posting to `action`.
    pub(crate) fn with_action(mut self, action: impl Into<String>) -> Self {
        self.action = action.into();
        self
    }
}

/// One template of the subscription pages, with what rendering it needs.
#[derive(Clone)]
pub(crate) struct Pages {
    pub(crate) subs: Arc<Subscriptions>,
    template: &'static str,
}

impl Pages {
    pub(crate) fn subscription(subs: Arc<Subscriptions>) -> Self {
        Pages {
            subs,
            template: "abonnement.html",
        }
    }

    pub(crate) fn preferences(subs: Arc<Subscriptions>) -> Self {
        Pages {
            subs,
            template: "preferences.html",
        }
    }

    /// The page, with the CSRF token of its form.
    pub(crate) fn render(
        &self,
        status: StatusCode,
        mut ctx: PageContext,
    ) -> Result<Response, WebError> {
        let s = &self.subs;
        if !ctx.action.is_empty() {
            ctx.csrf = csrf::issue(&s.secret, &ctx.action, Utc::now());
        }
        let html = Publisher::new(&s.config, &s.archive)?.render_template(self.template, ctx)?;
        let mut response = (status, Html(html)).into_response();
        super::secure_headers(&s.config.web.site_origins, response.headers_mut());
        Ok(response)
    }

    pub(crate) fn ok(&self, ctx: PageContext) -> Result<Response, WebError> {
        self.render(StatusCode::OK, ctx)
    }

    pub(crate) fn invalid(&self) -> WebError {
        WebError::InvalidLink(self.clone())
    }

    pub(crate) fn too_many(&self) -> WebError {
        WebError::TooMany(self.clone())
    }

    /// Checks a POST to `form` (its path) before anything changes: the browser's
    /// `Sec-Fetch-Site`, then the token in `fields`. Refused: `retry` gives a fresh form.
    pub(crate) fn check_form(
        &self,
        headers: &axum::http::HeaderMap,
        form: &str,
        fields: &[(String, String)],
        retry: &str,
    ) -> Result<(), WebError> {
        csrf::check_origin(headers)
            .and_then(|()| {
                csrf::check(
                    &self.subs.secret,
                    form,
                    csrf::field(fields, csrf::FIELD),
                    Utc::now(),
                )
            })
            .map_err(|why| WebError::Refused {
                pages: self.clone(),
                retry: retry.to_string(),
                why,
            })
    }
}
