"""One hostile-input corpus, fed to every conversation state and command in every role."""
