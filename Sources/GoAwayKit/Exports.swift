@_exported import GoAwayCore
