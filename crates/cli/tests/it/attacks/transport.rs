//! Attacks on silent and slow connections, connection caps, shedding per IP, PROXY protocol, request smuggling heads, rate-limit headers.
