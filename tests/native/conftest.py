"""Native-core tests (their helpers are in ``support.native_ref``)."""
