"""Loading a company's exports into the datamart: readers, mappings, validation, rejects."""
