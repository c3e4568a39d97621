"""Loading and validating user files (project files, rule packs, imports) into frozen objects, once."""
