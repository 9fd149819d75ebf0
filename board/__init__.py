"""The bulletin board: a room of its own.

Every app appends to it (``board.services``) and reads it (``board.selectors``); it imports none
of them. An election's board is identified by the election's id; entries, their envelope and hash
are defined once, in ``crypto.board``.
"""
