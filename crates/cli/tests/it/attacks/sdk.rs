//! Attacks on the client side: pinned response keys and clock-skew correction against a man in the middle.
