//! Cursor pagination: one [`Page`] at a time, or a [`Stream`] over every item.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;

use crate::error::Error;
use crate::models::Page;

/// A stream over every item of a list, fetching pages as it goes. It ends after the last page, or
/// after yielding the first error.
///
/// ```no_run
/// # async fn f(client: moments_client::MomentsClient) -> Result<(), moments_client::Error> {
/// use futures_util::StreamExt;
/// use moments_client::models::RewardListParams;
///
/// let mut rewards = client.rewards().list_stream(RewardListParams::default());
/// while let Some(reward) = rewards.next().await {
///     let reward = reward?;
///     println!("{} {}", reward.id, reward.status);
/// }
/// # Ok(()) }
/// ```
pub type ItemStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send + 'static>>;

enum Next {
    Page(Option<String>),
    Done,
}

/// Streams the items of the pages `fetch(cursor)` returns, starting at `start`.
pub(crate) fn paginate<T, F, Fut>(start: Option<String>, fetch: F) -> ItemStream<T>
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, Error>> + Send + 'static,
{
    let state = (fetch, Next::Page(start), VecDeque::new());
    Box::pin(futures_util::stream::unfold(
        state,
        |(mut fetch, mut next, mut buf)| async move {
            loop {
                if let Some(item) = buf.pop_front() {
                    return Some((Ok(item), (fetch, next, buf)));
                }
                let cursor = match next {
                    Next::Done => return None,
                    Next::Page(c) => c,
                };
                match fetch(cursor.clone()).await {
                    Ok(page) => {
                        buf.extend(page.data);
                        next = match page.next_cursor {
                            // A cursor that does not move would loop forever: stop instead.
                            Some(c) if page.has_more && Some(&c) != cursor.as_ref() => {
                                Next::Page(Some(c))
                            }
                            _ => Next::Done,
                        };
                    }
                    Err(e) => return Some((Err(e), (fetch, Next::Done, buf))),
                }
            }
        },
    ))
}
