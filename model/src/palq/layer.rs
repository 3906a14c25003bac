//! The PalQuant layer model (docs/palq-shuffle.md).
