//! HTML pages served by the mock: the reward link's landing page.

pub mod landing;
