//! The model trait: the agent loop runs the same against the real API and the simulator.

use std::sync::Arc;
use std::time::Duration;

use crate::message::{ChatRequest, ChatResponse};
use crate::tool::BoxFuture;

/// Why a model request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The API answered with an error status.
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's message.
        message: String,
        /// The API's error code, when it gives one.
        code: Option<String>,
    },
    /// Too many requests, after the retries ran out.
    RateLimited {
        /// How long the API asked to wait.
        retry_after: Option<Duration>,
        /// The API's message.
        message: String,
    },
    /// The request did not get an answer within its timeout.
    Timeout(Duration),
    /// The connection failed.
    Transport(String),
    /// The reply could not be understood.
    InvalidResponse(String),
    /// A configuration problem (no API key, a bad base URL).
    Config(String),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Api { status, message, code: Some(code) } => {
                write!(f, "the API answered {status} ({code}): {message}")
            }
            ModelError::Api { status, message, code: None } => {
                write!(f, "the API answered {status}: {message}")
            }
            ModelError::RateLimited { retry_after: Some(wait), message } => {
                write!(f, "rate limited (retry after {wait:?}): {message}")
            }
            ModelError::RateLimited { retry_after: None, message } => write!(f, "rate limited: {message}"),
            ModelError::Timeout(limit) => write!(f, "the model did not answer within {limit:?}"),
            ModelError::Transport(msg) => write!(f, "connection failed: {msg}"),
            ModelError::InvalidResponse(msg) => write!(f, "the model's reply could not be read: {msg}"),
            ModelError::Config(msg) => write!(f, "model configuration: {msg}"),
        }
    }
}

impl std::error::Error for ModelError {}

/// A chat model: one request in, one reply out.
pub trait Model: Send + Sync {
    /// Answer one request.
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, ModelError>>;
}

impl<M: Model + ?Sized> Model for Arc<M> {
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        (**self).complete(request)
    }
}

impl<M: Model + ?Sized> Model for Box<M> {
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        (**self).complete(request)
    }
}

impl<M: Model + ?Sized> Model for &M {
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        (**self).complete(request)
    }
}
