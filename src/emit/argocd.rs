//! (being written)

use super::File;
use crate::model::Lab;

pub fn emit(_lab: &Lab) -> Vec<File> {
    Vec::new()
}
