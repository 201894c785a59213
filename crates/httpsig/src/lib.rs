//! RFC 9421 HTTP Message Signatures and RFC 9530 digests (being written).
