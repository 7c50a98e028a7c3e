"""Plan: a Script → chunks, each with its text as written and as spoken, seed, token budget and pause.

chunks (the planner) splits paragraphs with sentences, says them with normalize (rules in small modules) and
the user's lexicon; english holds the abbreviations and words these share; hints lists names that may need
a lexicon entry (``cbx plan``).
"""
