"""Domain operations of the voting app: ``board`` (the hash chain), ``elections`` (life cycle and
manifest), ``casting`` (ballots and audits). Every function is keyword-only and transactional."""
