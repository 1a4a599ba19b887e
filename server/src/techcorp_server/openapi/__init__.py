"""The OpenAPI document of the API and the interactive docs that render it."""
