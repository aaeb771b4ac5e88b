# Regenerates ex_default_scores.csv and ex_default_ranks.csv: the scores and ranks of COINr's
# example build of the ASEM index, against which tests/test_reference.py checks index_engine.
#
# Requirements: R (>= 4.1) and COINr 1.1.14 from CRAN, e.g.
#   install.packages("remotes"); remotes::install_version("COINr", version = "1.1.14")
# Run from this folder:
#   Rscript generate.R
#
# This script is written from COINr's documented API (build_example_coin, get_dset, rank_df) and
# the format of the committed files; it has not been run where the Python suite runs (no R there).
# Running it is expected to reproduce both files byte for byte; a difference is worth a look
# before anything is committed.

stopifnot(packageVersion("COINr") == "1.1.14")
library(COINr)

# The canonical example build: Denominate by iMeta's Denominator column -> impute by the
# EurAsia_group mean (i_mean_grp) -> Screen at dat_thresh 0.9 -> Treat (the JRC outlier rule) ->
# Normalise (min-max 0-100) -> Aggregate (arithmetic mean with iMeta's weights).
coin <- build_example_coin(quietly = TRUE)

# Every indicator (normalised), pillar, sub-index and index, one row per unit, sorted by uCode;
# columns uCode, uName, then the data columns in the coin's order.
scores <- get_dset(coin, dset = "Aggregated", also_get = "uName")

# Ranks per column: rank(-x, ties.method = "min", na.last = "keep"), as rank_df does.
ranks <- rank_df(scores)

# Numbers with 15 significant digits when they read back as the same double, else 17; missing
# values as empty cells. Text columns and the header are quoted, numbers are not.
exact <- function(x) {
  if (!is.numeric(x)) return(x)
  out <- formatC(x, digits = 15, format = "g")
  inexact <- !is.na(x) & as.numeric(out) != x
  out[inexact] <- formatC(x[inexact], digits = 17, format = "g")
  out <- trimws(out)
  out[is.na(x)] <- ""
  out
}

write_exact <- function(df, file) {
  text_cols <- which(!vapply(df, is.numeric, logical(1)))
  out <- data.frame(lapply(df, exact), check.names = FALSE, stringsAsFactors = FALSE)
  write.csv(out, file, row.names = FALSE, quote = text_cols, na = "", fileEncoding = "UTF-8")
}

write_exact(scores, "ex_default_scores.csv")
write_exact(ranks, "ex_default_ranks.csv")
