//! One generator per unit kind. Each lives beside its model in `model` under the same
//! name and implements [`crate::Generate`] for the unit's parameter type.

pub mod bfp_add;
pub mod bfp_quant;
pub mod mac;
