"""Loading a company's exports into the datamart: readers, mappings, validation, rejects.

``ingest_file`` loads one file (CSV/TXT, gzip or not, XLSX, Parquet) or Arrow table into a table,
``load_folder`` the files a ``sources.yaml`` lists, in one transaction.  See ``docs/ingest.md``.
"""

from clientela.datamart.ingest._load import LoadReport, ingest_file, load_folder
from clientela.datamart.ingest._mapping import ColumnMapping, Mapping, Unpivot

__all__ = ["ColumnMapping", "LoadReport", "Mapping", "Unpivot", "ingest_file", "load_folder"]
