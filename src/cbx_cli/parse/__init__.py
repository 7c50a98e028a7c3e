"""Parse: a text argument, a file or stdin → a Script of chapters, paragraphs, directives and pauses."""
