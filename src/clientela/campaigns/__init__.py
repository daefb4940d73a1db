"""Campaign management, backend-free: definitions, target selection, exclusions, contact
pressure, control groups, channel capacity, response attribution, results and triggers.

The functions here take Ibis tables and return expressions; :mod:`clientela.services` runs them
against the datamart.
"""
