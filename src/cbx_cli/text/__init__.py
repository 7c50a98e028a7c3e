"""Text stages: source → Script (parse), Script paragraphs → chunk texts (chunk)."""
