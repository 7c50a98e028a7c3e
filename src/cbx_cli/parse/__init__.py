"""Parse: a text argument, a file or stdin → a Script of chapters, paragraphs, directives and pauses.

sources (argument, file, stdin) → plain or markdown (the two parsers) → script (Script and its builder);
the parsers read pauses (``[pause 1.5s]``, separator lines) and directives (``<!-- cbx: ... -->``); tags
defines what a bracketed tag is.
"""
