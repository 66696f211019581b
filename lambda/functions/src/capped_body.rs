//! AWS responses read with a size limit: an endpoint (or something posing as one, such as a
//! proxy) cannot grow memory with an endless body. On the Secrets Manager client (a secret is
//! at most 64 KB) and the watchdog's clients (a page of schedules or metric data is a few MB).

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;

/// The largest response body one of the watchdog's calls may have.
pub const WATCHDOG_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Puts the limit on every response body before it is read.
#[derive(Debug)]
pub struct CapResponseBody {
    pub limit: usize,
}

impl Intercept for CapResponseBody {
    fn name(&self) -> &'static str {
        "CapResponseBody"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let inner = response.take_body();
        *response.body_mut() = SdkBody::from_body_1_x(Capped {
            inner,
            left: self.limit,
            limit: self.limit,
        });
        Ok(())
    }
}

struct Capped {
    inner: SdkBody,
    left: usize,
    limit: usize,
}

impl http_body::Body for Capped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if data.len() > this.left {
                        return Poll::Ready(Some(Err(format!(
                            "the response body is larger than {} bytes, more than any answer to this call: not an AWS endpoint, or a proxy in between",
                            this.limit
                        )
                        .into())));
                    }
                    this.left -= data.len();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}
