//! Attacks on the login path: concurrent guesses, lock-outs by strangers, and employees claiming another name or grade on their own slip.
