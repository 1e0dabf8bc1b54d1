import GoAwayKit
