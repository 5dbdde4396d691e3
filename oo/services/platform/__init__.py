"""Process-wide plumbing the use cases share: the event bus and its store, the keyring, retention."""
