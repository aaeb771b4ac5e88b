"""Interface strings (zh/en) and number formatting for the report pages.

Names of the index, its nodes and its units come from the build (spec.yaml, units.csv); every
other word on a page comes from :data:`STRINGS`, so a page in one language never shows the other
language's interface words. Numbers follow the locale's style:

* amounts in 亿元 (亿美元, 万元) stay in the unit the spec gives: in Chinese ``2,246亿元`` and, from
  10,000 亿元 up, ``4.52万亿元``; in English the same amount in billions, ``CNY 224.6 bn``, and from
  1,000 bn up ``CNY 4.52 trn`` (1 亿 = 0.1 bn, so nothing is rounded away but digits);
* shares given as fractions (attainment, growth rates) as percentages, ``10.3%``;
* ranks as ``第3位`` / ``rank 3`` where the unit is a rank (位次);
* a missing value as an en dash.

>>> fmt_qty(45200, "亿元", "zh")
'4.52万亿元'
>>> fmt_qty(2246, "亿元", "zh")
'2,246亿元'
>>> fmt_qty(2246, "亿元", "en")
'CNY 224.6 bn'
>>> fmt_qty(45200, "亿元", "en")
'CNY 4.52 trn'
>>> fmt_pct(0.10297, "en")
'10.3%'
>>> fmt_signed(-1.234)
'-1.2'
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from ..measures import PROGRESS_STATUSES
from ..scorecard import PACE_TEXT
from ..targets import STATUS_LABELS, STATUS_RULES

LANGS = ("zh", "en")
MISSING = "–"

#: Interface strings: key -> {"zh": ..., "en": ...}. Every key has both languages (a test checks it).
STRINGS: dict[str, dict[str, str]] = {
    # navigation and page titles
    "overview": {"zh": "总览", "en": "Overview"},
    "units": {"zh": "地区与单位", "en": "Units"},
    "framework": {"zh": "指标体系", "en": "Framework"},
    "targets": {"zh": "目标量化", "en": "Targets"},
    "methodology": {"zh": "编制方法", "en": "Methodology"},
    "robustness": {"zh": "稳健性", "en": "Robustness"},
    "unit_profile": {"zh": "单位概况", "en": "Unit profile"},
    "dimension": {"zh": "维度", "en": "Dimension"},
    "dimensions": {"zh": "维度", "en": "Dimensions"},
    "indicator": {"zh": "指标", "en": "Indicator"},
    "indicators": {"zh": "指标", "en": "Indicators"},
    "skip_to_content": {"zh": "跳到正文", "en": "Skip to content"},
    "main_nav": {"zh": "主导航", "en": "Main navigation"},
    "breadcrumb": {"zh": "位置", "en": "Breadcrumb"},
    "on_this_page": {"zh": "本页内容", "en": "On this page"},
    # the "build your own index" page and the printable brief
    "explorer": {"zh": "自定义权重", "en": "Build your own index"},
    "explorer_intro": {
        "zh": "拖动滑块设定各维度的权重（也可选择一个维度，设定其下指标的权重）。页面用标准化后的指标得分，按本指数各层的合成方法在浏览器中重新计算得分与排名；权重只看相对大小。",
        "en": "Move the sliders to set your own weights of the dimensions (and, for one dimension, of its indicators). Scores and ranks are recomputed in your browser from the normalised indicator scores with the index's own aggregation at every level; only the ratios of the weights matter.",
    },
    "explorer_official": {
        "zh": "官方发布的指数使用官方权重（滑块的初始位置）；“恢复官方权重”回到官方结果。",
        "en": "The official index uses the official weights (the sliders' starting positions); the reset button returns to the official results.",
    },
    "explorer_unavailable": {
        "zh": "本指数不提供自定义权重：该页面只能重新计算算术、几何、调和与广义平均。",
        "en": "Your own weights are not available for this index: the page can recompute arithmetic, geometric, harmonic and generalised means only.",
    },
    "explorer_blocker": {"zh": "节点 {node} 使用 {method}", "en": "node {node} uses {method}"},
    "explorer_noscript": {
        "zh": "重新计算需要启用 JavaScript；下表为官方结果。",
        "en": "Recomputing needs JavaScript; the table shows the official results.",
    },
    "explorer_dims": {"zh": "维度权重", "en": "Dimension weights"},
    "explorer_sub": {"zh": "维度内指标权重", "en": "Weights within a dimension"},
    "explorer_sub_pick": {"zh": "选择维度", "en": "Choose a dimension"},
    "explorer_sub_none": {"zh": "（官方指标权重）", "en": "(official indicator weights)"},
    "explorer_reset": {"zh": "恢复官方权重", "en": "Reset to official weights"},
    "explorer_state_official": {"zh": "当前为官方权重。", "en": "Showing the official weights."},
    "explorer_state_custom": {"zh": "当前为自定义权重，结果不是官方指数。", "en": "Showing your weights: these are not the official index."},
    "explorer_share": {"zh": "占比", "en": "Share"},
    "your_score": {"zh": "自定义得分", "en": "Your score"},
    "your_rank": {"zh": "自定义排名", "en": "Your rank"},
    "official_score": {"zh": "官方得分", "en": "Official score"},
    "official_rank": {"zh": "官方排名", "en": "Official rank"},
    "brief": {"zh": "简报", "en": "Brief"},
    "brief_title": {"zh": "{unit}简报", "en": "{unit}: Brief"},
    "brief_page": {"zh": "第{page}页，共{pages}页", "en": "Page {page} of {pages}"},
    "brief_vs_reference": {"zh": "各维度与参照对比", "en": "Dimensions against the reference"},
    "brief_reference": {"zh": "参照", "en": "Reference"},
    "brief_ref_unit": {"zh": "参照：{name}", "en": "Reference: {name}"},
    "brief_ref_median": {"zh": "参照：同组中位数（{n}个单位）", "en": "Reference: the peer median ({n} units)"},
    "brief_ref_base": {"zh": "参照：基期（{year}年）", "en": "Reference: the base year ({year})"},
    "brief_targets": {"zh": "目标进展", "en": "Targets"},
    "brief_targets_more": {"zh": "另有{n}项目标见目标进展页。", "en": "{n} more targets on the Targets page."},
    "brief_no_targets": {"zh": "本单位没有目标数据。", "en": "No targets are tracked for this unit."},
    "brief_diff": {"zh": "差值", "en": "Difference"},
    "brief_prev_rank": {"zh": "上年排名 {rank}", "en": "Previous rank {rank}"},
    # headline and tables
    "headline": {"zh": "核心结果", "en": "Headline"},
    "results_for": {"zh": "{year}年指数结果", "en": "Results for {year}"},
    "results": {"zh": "指数结果", "en": "Results"},
    "index_score": {"zh": "指数得分", "en": "Index score"},
    "score": {"zh": "得分", "en": "Score"},
    "rank": {"zh": "排名", "en": "Rank"},
    "rank_of": {"zh": "共{n}个单位中排第{r}位", "en": "rank {r} of {n}"},
    "change": {"zh": "较上年变化", "en": "Change on previous year"},
    "change_short": {"zh": "变化", "en": "Change"},
    "rank_change": {"zh": "位次变化", "en": "Rank change"},
    "previous_year": {"zh": "上年", "en": "Previous year"},
    "peer_median": {"zh": "同组中位数", "en": "Peer median"},
    "vs_median": {"zh": "与中位数之差", "en": "Difference from median"},
    "range": {"zh": "区间", "en": "Range"},
    "min": {"zh": "最低", "en": "Lowest"},
    "max": {"zh": "最高", "en": "Highest"},
    "n_units": {"zh": "参评单位数", "en": "Units ranked"},
    "unit": {"zh": "单位", "en": "Unit"},
    "unit_of_measure": {"zh": "计量单位", "en": "Unit of measure"},
    "code": {"zh": "代码", "en": "Code"},
    "name": {"zh": "名称", "en": "Name"},
    "year": {"zh": "年份", "en": "Year"},
    "value": {"zh": "数值", "en": "Value"},
    "raw_value": {"zh": "原始值", "en": "Raw value"},
    "normalized_score": {"zh": "标准化得分", "en": "Normalized score"},
    "ranking": {"zh": "排名", "en": "Ranking"},
    "ranking_in": {"zh": "{year}年排名", "en": "Ranking, {year}"},
    "ranking_note": {"zh": "点击列标题可排序。排名1为最优，并列取最小名次。", "en": "Click a column heading to sort. Rank 1 is best; ties share the lowest rank."},
    "heat_table": {"zh": "维度得分热力表", "en": "Dimension scores by unit"},
    "heat_note": {"zh": "颜色越深得分越高。", "en": "Darker cells score higher."},
    "index_over_time": {"zh": "指数走势", "en": "The index over time"},
    "composition": {"zh": "指数得分构成（各维度贡献）", "en": "Composition of the index score (contribution of each dimension)"},
    "contribution": {"zh": "贡献", "en": "Contribution"},
    "data_table": {"zh": "图表数据", "en": "Chart data"},
    "all_units": {"zh": "全部单位", "en": "All units"},
    "reference_unit": {"zh": "参照单位（不参与排名）", "en": "Reference unit (not ranked)"},
    "focus_unit": {"zh": "重点单位", "en": "Focus unit"},
    "latest_year": {"zh": "最新年份", "en": "Latest year"},
    "no_data": {"zh": "无数据", "en": "no data"},
    # unit profile
    "by_dimension": {"zh": "分维度得分与排名", "en": "Score and rank by dimension"},
    "vs_peers": {"zh": "与同组中位数比较", "en": "Against the peer median"},
    "strengths": {"zh": "优势指标", "en": "Strengths"},
    "weaknesses": {"zh": "短板指标", "en": "Weaknesses"},
    "strengths_note": {"zh": "按指标排名选出的最优与最弱指标（仅计入权重大于零的指标）。", "en": "Its best and worst indicators by rank (indicators with a weight above zero)."},
    "trends": {"zh": "历年走势", "en": "Trends"},
    "contrib_change": {"zh": "各维度对指数变化的贡献（{prev}→{year}）", "en": "Contribution of each dimension to the change, {prev} to {year}"},
    "contrib_change_note": {"zh": "各维度贡献之和等于指数得分的年度变化。", "en": "The contributions add up to the change in the index score."},
    "indicator_table": {"zh": "全部指标", "en": "All indicators"},
    # dimension verdicts, in the page's language from the audit's fields
    "reason_alpha": {"zh": "α {alpha}", "en": "alpha {alpha}"},
    "reason_no_alpha": {"zh": "α无法计算（完整单位过少）", "en": "alpha not computable (too few complete units)"},
    "reason_eigen": {"zh": "特征值大于1的主成分{n}个", "en": "{n} eigenvalue(s) > 1"},
    "reason_pc1": {"zh": "第一主成分解释{share}", "en": "PC1 {share}"},
    "reason_no_pca": {"zh": "主成分分析无法计算", "en": "PCA not computable"},
    "reason_negative": {"zh": "{n}项指标与维度负相关", "en": "{n} indicator(s) correlate negatively"},
    "reason_no_negative": {"zh": "无负相关指标", "en": "no negative correlation"},
    "verdict_rule": {"zh": "一致：α ≥ {hi}，第一主成分占主导（恰有一个特征值大于1且解释方差 ≥ {pc1}），且无指标与维度负相关；不一致：α < {lo} 或有指标与维度负相关；其余（或α、主成分无法计算）为需核查。",
                     "en": "coherent: alpha >= {hi}, PC1 dominates (exactly one eigenvalue > 1 and PC1 >= {pc1} of the variance) and no indicator correlates negatively with the dimension; incoherent: alpha < {lo} or an indicator correlates negatively; check: otherwise (or when alpha or the PCA cannot be computed)."},
    # what each audit check means and what the build does about it
    "flag_meaning": {"zh": "含义", "en": "What it means"},
    "flag_action": {"zh": "处理", "en": "What was done"},
    "flags_summary": {"zh": "统计审计提示汇总", "en": "Audit flags in summary"},
    "flags_summary_note": {"zh": "审计提示是需要复核的信号，并非错误；维度一致性判断见上表。", "en": "Flags are prompts to review, not errors; the dimension verdicts above weigh them."},
    "mean_collinear": {"zh": "同一维度内两项指标高度相关，可能重复计算同一现象。", "en": "Two indicators of one dimension move together: the same thing may be counted twice."},
    "act_collinear": {"zh": "保留两项指标（框架要求）；稳健性分析中逐项剔除检验其影响。", "en": "Both kept (the framework asks for them); the remove-one analysis shows their effect."},
    "mean_outlier": {"zh": "分布偏斜、尾部很长，少数单位可能主导该指标的标准化。", "en": "A skewed, long-tailed distribution: a few units could dominate the normalisation."},
    "act_outlier": {"zh": "按规格中的离群值处理规则缩尾或取对数（见各指标页“处理”）。", "en": "Winsorised or logged by the spec's outlier rule (see each indicator's processing)."},
    "mean_denominator_correlation": {"zh": "指标与其分母高度相关，反映的可能是规模而非强度。", "en": "The indicator follows its denominator: it may measure size rather than intensity."},
    "act_denominator_correlation": {"zh": "已按分母标准化；排名依据比重而非规模。", "en": "Divided by the denominator; ranks follow the ratio, not the level."},
    "mean_importance_gap": {"zh": "指标对指数的实际影响与其权重不相称。", "en": "The indicator's actual influence on the index differs from its weight."},
    "act_importance_gap": {"zh": "权重按框架保留；见下方重要性表。", "en": "Weights kept as the framework sets them; see the importance table below."},
    "mean_stronger_with_other_dimension": {"zh": "指标与其他维度的相关强于与所属维度的相关。", "en": "The indicator correlates more with another dimension than with its own."},
    "act_stronger_with_other_dimension": {"zh": "按框架归属保留，供框架修订时参考。", "en": "Kept where the framework puts it; noted for a framework review."},
    "mean_low_availability": {"zh": "该年份可得数据比例低于阈值。", "en": "Fewer values available than the threshold in that year."},
    "act_low_availability": {"zh": "缺失值按规格插补并在各表中标注。", "en": "Gaps imputed by the spec's rule and marked in the tables."},
    "mean_unit_coverage": {"zh": "某单位在部分维度的数据覆盖不足。", "en": "A unit has too few indicators in some dimension."},
    "act_unit_coverage": {"zh": "得分照常计算；覆盖率列于各维度页。", "en": "Scores computed as usual; coverage shown on each dimension page."},
    "mean_many_zeros": {"zh": "零值占比高，区分度有限。", "en": "Many zeros: the indicator separates units little."},
    "act_many_zeros": {"zh": "保留；标准化后零值得最低分。", "en": "Kept; zeros score lowest after normalisation."},
    "mean_few_unique": {"zh": "不同取值很少，区分度有限。", "en": "Few distinct values: the indicator separates units little."},
    "act_few_unique": {"zh": "保留（位次、试点项目等指标的性质所致）。", "en": "Kept (in the nature of ranks and programmes)."},
    "mean_insignificant_with_parent": {"zh": "指标与上级得分的相关在统计上不显著。", "en": "The indicator's correlation with its parent is not significant."},
    "act_insignificant_with_parent": {"zh": "保留，供框架修订时参考。", "en": "Kept; noted for a framework review."},
    "mean_negative_with_parent": {"zh": "指标与上级得分负相关，方向可能设错。", "en": "The indicator correlates negatively with its parent: its direction may be wrong."},
    "act_negative_with_parent": {"zh": "核对方向设定；维度判为不一致。", "en": "Direction to be checked; the dimension is judged incoherent."},
    "rank_headline_note": {"zh": "排名区间在各种标准化方法之间可比，是稳健性的主要结论：区间越窄，排名越稳定。", "en": "Rank intervals compare across normalisation methods and are the headline: the narrower the interval, the steadier the rank."},
    "score_interval_pooled": {"zh": "得分区间（混合不同标准化方法）", "en": "Score interval (mixed normalisations)"},
    "score_interval_pooled_note": {"zh": "不确定性分析在不同标准化方法之间切换，各方法得分的量纲不同，得分区间仅供参考，应以排名区间为准。", "en": "The uncertainty analysis switches between normalisation methods whose scores are on different scales, so score intervals are indicative only; read the rank intervals."},
    "importance_eta2": {"zh": "各组成部分对指数的重要性（相关比 η²）", "en": "Importance of each component in the index (correlation ratio η²)"},
    "importance_eta2_note": {"zh": "相关比 η² = Var(E[指数 | 组成部分]) / Var(指数)，即组成部分得分的最佳平滑函数所能解释的指数方差比例（全部单位和年份）。与有效权重相差较大时，说明实际影响与名义权重不符。", "en": "Correlation ratio η² = Var(E[index | component]) / Var(index): the share of the index's variance that the best smooth function of the component explains (all units and years). A large gap from the effective weight means the actual influence differs from the nominal weight."},
    "importance_r2_note": {"zh": "r² 为该组成部分得分与指数得分的相关系数平方（{year}年）。", "en": "r² is the squared correlation of the component's scores with the index ({year})."},
    "factor_weights": {"zh": "权重", "en": "weights"},
    "factor_normalize": {"zh": "标准化方法", "en": "normalisation method"},
    "factor_aggregate": {"zh": "加总方法", "en": "aggregation method"},
    "factor_impute": {"zh": "插补方法", "en": "imputation method"},
    "factor_treat": {"zh": "离群值处理", "en": "outlier treatment"},
    "importance_below_weight": {"zh": "重要性低于权重", "en": "importance below weight"},
    "importance_above_weight": {"zh": "重要性高于权重", "en": "importance above weight"},
    "weight_0": {"zh": "权重为0", "en": "weight 0"},
    "too_few_values": {"zh": "取值过少", "en": "too few values"},
    "single_audit_note": {"zh": "只有一个单位时，跨单位的统计检验（相关、α、主成分）无法计算，下列提示仅供参考。", "en": "With one unit, cross-unit statistics (correlations, alpha, PCA) cannot be computed; the flags below are indicative only."},
    # the plain-language method statement (编制说明)
    "plain_method": {"zh": "编制说明", "en": "How the index is made"},
    "plain_intro": {"zh": "指数按以下步骤由原始数据计算得到；每一步的完整记录见下方“计算日志”。", "en": "The index is computed from the data in these steps; the full record of each step is in the computation log below."},
    "plain_transform": {"zh": "数据变换：按“{method}”方法变换原始数据。", "en": "Transformation: the data are transformed ({method})."},
    "plain_denominate": {"zh": "规模调整：规模类指标除以相应分母（如GDP、贷款总额），使大小不同的地区可比。", "en": "Scaling: size-dependent indicators are divided by a denominator (such as GDP or total loans), so that large and small units compare."},
    "plain_impute": {"zh": "缺失值插补：缺失数据按“{method}”方法补齐（共{n}个数值），插补值在各表中以 * 标注。", "en": "Missing values: gaps are filled ({method}; {n} values) and marked * in the tables."},
    "plain_impute_carry": {"zh": "缺失值插补：缺失数据取该单位最近一期数值（期初缺失取其后第一个数值），共{n}个数值；各表中沿用较早年份的数值以 ‡ 标注，其余插补值以 * 标注。", "en": "Missing values: a gap takes the unit's latest earlier value (a gap at the start its first later value); {n} values, marked ‡ in the tables when an earlier year's value is used and * otherwise."},
    "plain_screen": {"zh": "样本筛选：数据覆盖不足的单位按规则剔除。", "en": "Screening: units with too little data are left out by rule."},
    "plain_treat": {"zh": "离群值处理：分布高度偏斜的指标按规则缩尾或取对数（共处理{n}个数值）。", "en": "Outliers: strongly skewed indicators are winsorised or logged by rule ({n} values treated)."},
    "plain_normalize": {"zh": "无量纲化：各指标按“{method}”方法换算为可比得分。", "en": "Normalisation: each indicator is put on a common scale ({method})."},
    "plain_normalize_minmax": {"zh": "无量纲化：各指标按极值法换算为0—100分（最小值0分、最大值100分）；负向指标反向计分。", "en": "Normalisation: each indicator is rescaled to 0-100 (lowest 0, highest 100); for indicators where lower is better the scale is reversed."},
    "plain_normalize_base_index": {"zh": "无量纲化：各指标以基期为100计算指数（当期值 ÷ 基期值 × 100）。", "en": "Normalisation: each indicator becomes an index with the base year = 100 (value ÷ base-year value × 100)."},
    "plain_normalize_goalposts": {"zh": "无量纲化：各指标按固定的目标值区间换算为得分。", "en": "Normalisation: each indicator is scored between fixed goalposts."},
    "plain_normalize_points": {"zh": "计分：各指标按区间给分（计分规则见下表）。", "en": "Scoring: each indicator earns points by band (the bands are in the tables below)."},
    "plain_aggregate_sum": {"zh": "加总：各维度积分相加得到总分（按企业类型设定的权重时，先乘以相应系数）。", "en": "Aggregation: the points of the dimensions add up to the total (times the factors of the firm's segment where segments have their own weights)."},
    "plain_normalize_zscore": {"zh": "无量纲化：各指标换算为标准分数（z分数）。", "en": "Normalisation: each indicator becomes a z-score."},
    "plain_weights": {"zh": "权重：按“{method}”方法确定各指标与维度的权重。", "en": "Weights: set by the {method} method."},
    "plain_weights_fixed": {"zh": "权重：采用指标体系中规定的权重，在每一上级内归一化（逐级等权时各项权重相同）。", "en": "Weights: the framework's weights, rescaled to sum to one within each parent."},
    "plain_aggregate": {"zh": "加总：各层级按“{method}”方法合成上一级得分。", "en": "Aggregation: each level is combined into the next ({method})."},
    "plain_aggregate_arithmetic": {"zh": "加总：各层级按加权算术平均合成上一级得分，直至总指数。", "en": "Aggregation: weighted arithmetic means, level by level, up to the index."},
    "plain_aggregate_geometric": {"zh": "加总：各层级按加权几何平均合成上一级得分，直至总指数。", "en": "Aggregation: weighted geometric means, level by level, up to the index."},
    "plain_overrides": {"zh": "（另有{n}项指标采用单独设定）", "en": " ({n} indicators have their own setting)"},
    "computation_log": {"zh": "计算日志（逐步记录）", "en": "Computation log (step by step)"},
    "scroll_cue": {"zh": "← 表格较宽，可左右滑动查看 →", "en": "← The table is wider than the screen: scroll sideways →"},
    "stage_weighting_note": {"zh": "各维度列为计入总分的积分：维度原始积分（小字）乘以企业所处发展阶段的系数，合计等于总分。", "en": "Each dimension column holds the points that count in the total: the dimension's own points (small print) times the factor of the firm's stage; they add up to the total."},
    "stage_factors": {"zh": "各发展阶段的维度系数", "en": "Dimension factors by stage"},
    "scoring_bands": {"zh": "计分规则（按区间给分）", "en": "Scoring bands"},
    "band": {"zh": "区间", "en": "Band"},
    "points": {"zh": "积分", "en": "Points"},
    "band_below": {"zh": "低于 {hi}", "en": "below {hi}"},
    "band_between": {"zh": "{lo} 至 {hi}（不含）", "en": "{lo} to under {hi}"},
    "band_from": {"zh": "{lo} 及以上", "en": "{lo} or more"},
    "band_missing": {"zh": "缺失", "en": "missing"},
    "grade_cutoff": {"zh": "{g}级下限", "en": "grade {g} from"},
    # stages of a firm (segment values of the bundled firm data), in the page's language
    "seg_startup": {"zh": "初创期", "en": "start-up"},
    "seg_growth": {"zh": "成长期", "en": "growth"},
    "seg_mature": {"zh": "成熟期", "en": "mature"},
    "seg_初创期": {"zh": "初创期", "en": "start-up"},
    "seg_成长期": {"zh": "成长期", "en": "growth"},
    "seg_成熟期": {"zh": "成熟期", "en": "mature"},
    # publication block
    "publication": {"zh": "发布信息", "en": "Publication"},
    "pub_publisher": {"zh": "发布机构", "en": "Publisher"},
    "pub_release": {"zh": "发布日期", "en": "Release date"},
    "pub_cutoff": {"zh": "数据截止", "en": "Data cut-off"},
    "pub_contact": {"zh": "联系方式", "en": "Contact"},
    "pub_licence": {"zh": "使用许可", "en": "Licence"},
    "citation": {"zh": "建议引用", "en": "Suggested citation"},
    "citation_auto": {"zh": "{who}（{year}）：《{name}》，版本{version}。", "en": "{who} ({year}). {name}, version {version}."},
    "citation_auto_noyear": {"zh": "{who}：《{name}》，版本{version}。", "en": "{who}. {name}, version {version}."},
    "downloads": {"zh": "下载", "en": "Downloads"},
    "download_csv": {"zh": "下载 CSV", "en": "Download CSV"},
    "download_xlsx": {"zh": "全部结果（results.xlsx）", "en": "All results (results.xlsx)"},
    "built_with": {"zh": "由 index_engine {version} 生成", "en": "Made with index_engine {version}"},
    # the value behind a score, and markers
    "basis_share": {"zh": "占{den}比重（%）", "en": "Share of {den} (%)"},
    "basis_per_thousand": {"zh": "每千{den}", "en": "Per 1,000 {den}"},
    "basis_ratio": {"zh": "与{den}之比", "en": "Ratio to {den}"},
    "basis_scaled": {"zh": "与{den}之比（×{scale}）", "en": "Ratio to {den} (×{scale})"},
    "basis_transformed": {"zh": "变换后的值（{method}）", "en": "Transformed value ({method})"},
    "basis_note": {"zh": "排名依据标准化前的数值（{basis}），而非原始规模；得分由该数值标准化得到。", "en": "Ranks follow the value that was normalised ({basis}), not the level; the score is that value normalised."},
    "level_value": {"zh": "规模", "en": "Level"},
    "values_behind": {"zh": "得分背后的数值", "en": "The values behind the scores"},
    "values_behind_note": {"zh": "加粗列为标准化所用的数值（决定排名），其后为原始规模；每列一个计量单位。", "en": "Bold columns hold the value that was normalised (it orders the ranks), followed by the level; one unit per column."},
    "marks_legend": {"zh": "标记说明", "en": "Markers"},
    "mark_imputed": {"zh": "插补值", "en": "imputed"},
    "mark_earlier_year": {"zh": "沿用较早年份数据", "en": "earlier year's value"},
    "mark_partial_year": {"zh": "不完整年度数据", "en": "partial year"},
    "mark_treated": {"zh": "离群值处理", "en": "outlier treated"},
    "mark_estimate": {"zh": "估计值", "en": "estimate"},
    "mark_provisional": {"zh": "初步数", "en": "provisional"},
    "mark_proxy": {"zh": "代理指标", "en": "proxy"},
    "mark_forecast": {"zh": "预测值", "en": "forecast"},
    # a single unit over time
    "by_year": {"zh": "历年指数与维度得分", "en": "Index and dimension scores by year"},
    "by_dimension_single": {"zh": "分维度得分", "en": "Score by dimension"},
    "base_year_score": {"zh": "基期（{year}年）得分", "en": "Base year ({year}) score"},
    "since_base": {"zh": "较{year}年", "en": "Since {year}"},
    "growth": {"zh": "增长率", "en": "Growth"},
    "growth_vs": {"zh": "较{year}年", "en": "On {year}"},
    "composition_over_time": {"zh": "历年指数得分构成（各维度贡献）", "en": "Composition of the index score by year (contribution of each dimension)"},
    "vs_base": {"zh": "与基期比较", "en": "Against the base year"},
    "contrib_since_base": {"zh": "各维度对指数较基期变化的贡献（{base}→{year}）", "en": "Contribution of each dimension to the change since the base year, {base} to {year}"},
    "largest_gains": {"zh": "较基期提升最多的指标", "en": "Largest gains since the base year"},
    "largest_falls": {"zh": "较基期提升最少的指标", "en": "Smallest gains since the base year"},
    "gains_note": {"zh": "按指标得分较基期的变化选出（仅计入权重大于零的指标）。", "en": "By the change in the indicator's score since the base year (indicators with a weight above zero)."},
    "reference": {"zh": "参照", "en": "Reference"},
    "total": {"zh": "合计", "en": "Total"},
    # dimension and indicator pages
    "children": {"zh": "下级指标", "en": "Components"},
    "weight": {"zh": "权重", "en": "Weight"},
    "nominal_weight": {"zh": "名义权重", "en": "Nominal weight"},
    "weight_in_parent": {"zh": "在上级中的权重", "en": "Weight within parent"},
    "effective_weight": {"zh": "有效权重（占总指数）", "en": "Effective weight (in the index)"},
    "coverage": {"zh": "数据覆盖率", "en": "Coverage"},
    "coverage_note": {"zh": "数据覆盖率：名义权重中有观测数据支撑的比例，发布门槛与之比较。", "en": "Coverage: the share of the nominal weight backed by observed data, which the publication threshold is compared with."},
    "data_availability": {"zh": "数据可得性", "en": "Data availability"},
    "indicator_coverage_note": {"zh": "各年份有原始数据的单位占比。", "en": "Share of units with raw data in each year."},
    "available": {"zh": "有数据", "en": "Available"},
    "processing": {"zh": "数据处理", "en": "Data treatment"},
    "treated_points": {"zh": "离群值处理点数", "en": "Treated points"},
    "imputed_cells": {"zh": "插补单元格数", "en": "Imputed cells"},
    "treated_list": {"zh": "离群值处理记录", "en": "Outlier treatment"},
    "imputed_list": {"zh": "缺失值插补记录", "en": "Imputed values"},
    "before": {"zh": "处理前", "en": "Before"},
    "after": {"zh": "处理后", "en": "After"},
    "rule": {"zh": "规则", "en": "Rule"},
    "method": {"zh": "方法", "en": "Method"},
    "params": {"zh": "参数", "en": "Parameters"},
    "steps_applied": {"zh": "适用的处理步骤", "en": "Steps applied"},
    "nothing_touched": {"zh": "未经离群值处理或插补。", "en": "No value was treated or imputed."},
    "direction": {"zh": "方向", "en": "Direction"},
    "positive": {"zh": "正向（越高越好）", "en": "positive (higher is better)"},
    "negative": {"zh": "逆向（越低越好）", "en": "negative (lower is better)"},
    "type": {"zh": "类型", "en": "Type"},
    "denominator": {"zh": "分母", "en": "Denominator"},
    "source": {"zh": "数据来源", "en": "Source"},
    "sources": {"zh": "数据来源", "en": "Data sources"},
    "description": {"zh": "说明", "en": "Description"},
    "goalposts": {"zh": "目标值区间", "en": "Goalposts"},
    "parent": {"zh": "上级", "en": "Parent"},
    "raw_values": {"zh": "原始数据", "en": "Raw values"},
    "raw_over_time": {"zh": "原始数据走势", "en": "Raw values over time"},
    "scores_over_time": {"zh": "得分走势", "en": "Scores over time"},
    "latest_values": {"zh": "{year}年数值、得分与排名", "en": "Values, scores and ranks, {year}"},
    "fitted": {"zh": "标准化参数", "en": "Normalization parameters"},
    "audit_stats": {"zh": "审计统计", "en": "Audit statistics"},
    "stat_data": {"zh": "数据阶段", "en": "Data"},
    "stat_n_available": {"zh": "有数据单位数", "en": "Units with data"},
    "stat_availability": {"zh": "可得率", "en": "Availability"},
    "stat_min": {"zh": "最小值", "en": "Min"},
    "stat_median": {"zh": "中位数", "en": "Median"},
    "stat_max": {"zh": "最大值", "en": "Max"},
    "stat_skew": {"zh": "偏度", "en": "Skewness"},
    "stat_kurtosis": {"zh": "峰度", "en": "Kurtosis"},
    "stat_flag_outlier": {"zh": "离群标记", "en": "Outlier flag"},
    "fit_pool": {"zh": "统计口径", "en": "Pool"},
    "fit_min": {"zh": "最小值", "en": "Min"},
    "fit_max": {"zh": "最大值", "en": "Max"},
    "fit_lower": {"zh": "下限", "en": "Lower"},
    "fit_upper": {"zh": "上限", "en": "Upper"},
    "fit_mean": {"zh": "均值", "en": "Mean"},
    "fit_sd": {"zh": "标准差", "en": "SD"},
    "fit_base_year": {"zh": "基年", "en": "Base year"},
    "type_stock": {"zh": "存量", "en": "stock"},
    "type_flow": {"zh": "流量", "en": "flow"},
    "type_ratio": {"zh": "比率", "en": "ratio"},
    "type_rank": {"zh": "位次", "en": "rank"},
    "type_binary": {"zh": "二值", "en": "binary"},
    "type_count": {"zh": "计数", "en": "count"},
    "has_target": {"zh": "本指标设有政策目标，见", "en": "This indicator has a policy target: see"},
    "dimension_verdict": {"zh": "统计一致性结论", "en": "Statistical coherence"},
    "weight_zero_note": {"zh": "权重为零：列示但不计入指数。", "en": "Weight zero: shown, but not counted in the index."},
    "types": {"zh": "类型", "en": "Type"},
    # targets
    "targets_intro": {"zh": "{unit}各项政策目标的进展：达成度、所需与实际增速、目标年份预测及其区间。", "en": "Progress of {unit} toward each policy target: attainment, required against achieved growth, the projection for the target year with its interval."},
    "target": {"zh": "目标值", "en": "Target"},
    "target_year": {"zh": "目标年份", "en": "Target year"},
    "baseline": {"zh": "基期值", "en": "Baseline"},
    "latest": {"zh": "最新值", "en": "Latest"},
    "attainment": {"zh": "达成度", "en": "Attainment"},
    "required_growth": {"zh": "所需年均增速", "en": "Required annual growth"},
    "required_from_baseline": {"zh": "所需年均增速（自基期）", "en": "Required growth from baseline"},
    "required_from_latest": {"zh": "所需年均增速（自最新值）", "en": "Required growth from latest"},
    "from_baseline_latest": {"zh": "自基期 / 自最新值", "en": "from baseline / from latest"},
    "achieved_growth": {"zh": "实际年均增速", "en": "Achieved annual growth"},
    "projection": {"zh": "目标年预测", "en": "Projection"},
    "interval": {"zh": "预测区间", "en": "Interval"},
    "model": {"zh": "模型", "en": "Model"},
    "status": {"zh": "状态", "en": "Status"},
    "basis": {"zh": "口径", "en": "Basis"},
    **{f"status_{k}": {"zh": zh, "en": en} for k, (zh, en) in STATUS_LABELS.items()},
    **{f"statusrule_{k}": {"zh": zh, "en": en} for k, (zh, en) in STATUS_RULES.items()},
    **{f"progress_{k}": {"zh": zh, "en": en} for k, (zh, en) in PROGRESS_STATUSES.items()},
    "progress_chart": {"zh": "目标达成度", "en": "Attainment of each target"},
    "growth_chart": {"zh": "所需与实际年均增速", "en": "Required against achieved annual growth"},
    "projection_chart": {"zh": "目标年预测值占目标值的比例（含预测区间）", "en": "Projection for the target year as a share of the target (with its interval)"},
    "share_of_target": {"zh": "占目标值比例", "en": "Share of target"},
    "basis_year_end_stock": {"zh": "年末存量", "en": "year-end stock"},
    "basis_annual_flow": {"zh": "年度流量", "en": "annual flow"},
    "basis_cumulative": {"zh": "累计", "en": "cumulative"},
    "basis_rank": {"zh": "全国排名", "en": "national rank"},
    "basis_growth_gap": {"zh": "增速差", "en": "growth gap"},
    "basis_level": {"zh": "水平值", "en": "level"},
    "status_counts": {"zh": "目标状态汇总", "en": "Targets by status"},
    "basis_growth_vs_reference": {"zh": "增速高于参照", "en": "growth above reference"},
    # the plan's loop: scorecard, targets, implementation
    "scorecard": {"zh": "计分卡", "en": "Scorecard"},
    "implementation": {"zh": "实施推进", "en": "Implementation"},
    "loop_title": {"zh": "闭环管理：目标量化—实施推进—统计评估", "en": "The loop: quantified targets, implementation, statistical evaluation"},
    "loop_targets": {"zh": "目标量化", "en": "Quantified targets"},
    "loop_implementation": {"zh": "实施推进", "en": "Implementation"},
    "loop_evaluation": {"zh": "统计评估", "en": "Statistical evaluation"},
    "loop_evaluation_link": {"zh": "指数与各维度", "en": "The index and its dimensions"},
    "scorecard_intro": {"zh": "{unit}的计分卡：每项目标的最新值、所需与实际进度、预测与状态，以及规划各部分举措的推进状态。", "en": "Scorecard of {unit}: every target with its latest value, required against achieved pace, projection and status; every part of the plan with the status of its measures."},
    "implementation_intro": {"zh": "规划各部分、各条举措的推进情况：方案点名的亮点举措、里程碑、关联指标与目标，以及进展文件报告的最新状态。", "en": "Progress of each part and measure of the plan: the highlights the plan names, milestones, the indicators and targets that evidence each measure, and the latest status reported in the progress file."},
    "min_obs_note": {"zh": "除“数据不足”“尚未开始”“无数据”外，每个状态至少基于{n}个有效观测：零值、缺失、预测值以及基期（或规划起始年）和口径变化之前的数据只作参考，不计入。", "en": "Every status other than insufficient data, not started and no data rests on at least {n} usable observations: zeros, gaps, forecasts and values before the baseline (or the plan's first year) or a break in the series are context only."},
    "n_obs": {"zh": "有效观测", "en": "Usable obs."},
    "pace": {"zh": "所需与实际进度", "en": "Required against achieved pace"},
    **{f"pace_{k}": {"zh": zh, "en": en} for k, (zh, en) in PACE_TEXT.items()},
    "target_id": {"zh": "目标", "en": "Target"},
    "quote": {"zh": "方案原文", "en": "The plan's words"},
    "reading": {"zh": "本指数的解读", "en": "How the spec reads it"},
    "definitions": {"zh": "统计口径（方案脚注）", "en": "Definitions (from the plan's footnotes)"},
    "definition": {"zh": "统计口径", "en": "Definition"},
    "per_year_chart": {"zh": "累计目标：剩余每年所需与已实现年均", "en": "Cumulative targets: needed per remaining year against achieved per year"},
    "required_per_year": {"zh": "剩余每年所需", "en": "Needed per remaining year"},
    "achieved_per_year": {"zh": "已实现年均", "en": "Achieved per year"},
    "vs_reference_chart": {"zh": "年化增速与参照单元比较", "en": "Annualised growth against the reference unit"},
    "reference_growth": {"zh": "参照单元年化增速", "en": "Reference unit's growth"},
    "unit_growth": {"zh": "年化增速", "en": "Annualised growth"},
    "growth_gap_pp": {"zh": "增速差（百分点）", "en": "Growth gap (pp)"},
    "pp": {"zh": "百分点", "en": "pp"},
    "pass_fail_note": {"zh": "排名与增速比较类目标只有达标与否，不画在达成度刻度上。", "en": "Rank and growth-comparison targets are pass or fail: they are not drawn on the attainment scale."},
    "status_rules": {"zh": "状态规则", "en": "Status rules"},
    "target_warnings": {"zh": "警示", "en": "Warnings"},
    "part": {"zh": "部分", "en": "Part"},
    "measure": {"zh": "举措", "en": "Measure"},
    "measures_n": {"zh": "{n}条举措", "en": "{n} measures"},
    "highlights": {"zh": "亮点举措", "en": "Highlights"},
    "milestones": {"zh": "里程碑", "en": "Milestones"},
    "by_when": {"zh": "时限", "en": "By"},
    "evidence": {"zh": "进展依据", "en": "Evidence"},
    "progress_status": {"zh": "推进状态", "en": "Progress"},
    "reported": {"zh": "报告日期", "en": "Reported"},
    "linked_indicators": {"zh": "关联指标", "en": "Indicators"},
    "linked_targets": {"zh": "关联目标", "en": "Targets"},
    "part_targets": {"zh": "本部分的量化目标", "en": "Quantified targets of this part"},
    "no_progress_reported": {"zh": "尚未报告进展的举措与里程碑", "en": "Measures and milestones with no progress reported"},
    "all_reported": {"zh": "每条举措和里程碑均已报告进展。", "en": "Every measure and milestone has a progress report."},
    "no_progress_file": {"zh": "本次计算未使用进展文件（data.progress 或 --progress），所有举措均显示为“未报告”。", "en": "This build used no progress file (data.progress or --progress): every measure shows as not reported."},
    "measures_by_status": {"zh": "举措推进状态", "en": "Measures by status"},
    "milestones_by_status": {"zh": "里程碑", "en": "Milestones"},
    # methodology
    "notice": {"zh": "数据说明", "en": "About the data"},
    "about_index": {"zh": "关于本指数", "en": "About the index"},
    "framework_tree": {"zh": "指标体系与权重", "en": "Framework and weights"},
    "weights_chart": {"zh": "有效权重分布", "en": "Effective weights"},
    "level": {"zh": "层级", "en": "Level"},
    "steps": {"zh": "计算步骤", "en": "Steps of the build"},
    "steps_note": {"zh": "以下内容直接取自本次计算的日志文件，按执行顺序排列。", "en": "Taken from this build's log (log.json), in the order the steps ran."},
    "step": {"zh": "步骤", "en": "Step"},
    "applies_to": {"zh": "适用对象", "en": "Applies to"},
    "cells_changed": {"zh": "变动单元格", "en": "Cells changed"},
    "notes": {"zh": "备注", "en": "Notes"},
    "pool": {"zh": "统计口径", "en": "Pool"},
    "pool_all": {"zh": "全部单位与年份", "en": "all units and years"},
    "pool_year": {"zh": "逐年", "en": "year by year"},
    "provenance": {"zh": "可追溯信息", "en": "Provenance"},
    "package_version": {"zh": "程序版本", "en": "Package version"},
    "spec_file": {"zh": "方案文件", "en": "Spec file"},
    "data_file": {"zh": "数据文件", "en": "Data file"},
    "years": {"zh": "年份", "en": "Years"},
    "warnings": {"zh": "警告", "en": "Warnings"},
    "none": {"zh": "无", "en": "none"},
    "dropped_years": {"zh": "剔除年份", "en": "Dropped years"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "spec_path": {"zh": "方案路径", "en": "Spec path"},
    "all_indicators": {"zh": "全部指标", "en": "all indicators"},
    "n_items": {"zh": "{n}项", "en": "{n}"},
    "aggregation_note": {"zh": "各层级按权重逐级合成：指标→维度→总指数。", "en": "Each level is aggregated with its weights: indicators → dimensions → index."},
    "version": {"zh": "版本", "en": "Version"},
    "generated": {"zh": "生成自", "en": "Generated from"},
    "step_transform": {"zh": "变换", "en": "Transform"},
    "step_denominate": {"zh": "分母调整", "en": "Denominate"},
    "step_impute": {"zh": "缺失值插补", "en": "Impute"},
    "step_screen": {"zh": "样本筛选", "en": "Screen"},
    "step_treat": {"zh": "离群值处理", "en": "Treat outliers"},
    "step_normalize": {"zh": "无量纲化", "en": "Normalize"},
    "step_weights": {"zh": "权重", "en": "Weights"},
    "step_aggregate": {"zh": "合成", "en": "Aggregate"},
    # robustness
    "robustness_intro": {"zh": "统计审计与不确定性分析的结果。", "en": "Results of the statistical audit and the uncertainty analysis."},
    "audit": {"zh": "统计审计", "en": "Statistical audit"},
    "flags_by_check": {"zh": "审计标记（按检查项）", "en": "Audit flags by check"},
    "check": {"zh": "检查项", "en": "Check"},
    "count": {"zh": "数量", "en": "Count"},
    "message": {"zh": "说明", "en": "Message"},
    "flags_latest": {"zh": "{year}年审计标记", "en": "Audit flags, {year}"},
    "correlation_heatmap": {"zh": "指标与维度的相关系数（{year}年，Pearson）", "en": "Correlation of indicators with dimensions ({year}, Pearson)"},
    "verdicts": {"zh": "维度统计一致性", "en": "Statistical coherence of each dimension"},
    "verdict": {"zh": "结论", "en": "Verdict"},
    "verdict_coherent": {"zh": "一致", "en": "coherent"},
    "verdict_check": {"zh": "需核查", "en": "check"},
    "verdict_incoherent": {"zh": "不一致", "en": "incoherent"},
    "reason": {"zh": "依据", "en": "Reason"},
    "cronbach": {"zh": "Cronbach α", "en": "Cronbach's alpha"},
    "importance": {"zh": "权重与重要性", "en": "Weights against importance"},
    "rank_intervals": {"zh": "名义排名与不确定性区间（{year}年）", "en": "Nominal ranks against rank intervals ({year})"},
    "rank_intervals_note": {"zh": "圆点为名义排名，横线为5%–95%分位区间，菱形为中位排名。", "en": "Dots: nominal rank; bars: 5th–95th percentile; diamonds: median rank."},
    "nominal_rank": {"zh": "名义排名", "en": "Nominal rank"},
    "median_rank": {"zh": "中位排名", "en": "Median rank"},
    "mean_rank": {"zh": "平均排名", "en": "Mean rank"},
    "rank_interval": {"zh": "排名区间（5%–95%）", "en": "Rank interval (5%–95%)"},
    "score_interval": {"zh": "得分区间（5%–95%）", "en": "Score interval (5%–95%)"},
    "nominal_score": {"zh": "名义得分", "en": "Nominal score"},
    "sobol": {"zh": "Sobol 敏感性指数", "en": "Sobol sensitivity indices"},
    "sobol_note": {"zh": "S1为一阶指数，ST为总效应指数，误差线为置信区间。", "en": "S1: first-order index; ST: total-order index; bars show confidence intervals."},
    "factor": {"zh": "不确定因素", "en": "Factor"},
    "sensitivity_importance": {"zh": "有效权重与解释力（敏感性分析）", "en": "Effective weight against explained variance (sensitivity analysis)"},
    "flag": {"zh": "标记", "en": "Flag"},
    "node": {"zh": "节点", "en": "Node"},
    "remove_one": {"zh": "逐一剔除指标或维度的影响", "en": "Leaving out one indicator or dimension at a time"},
    "removed": {"zh": "剔除对象", "en": "Left out"},
    "mean_abs_rank_change": {"zh": "平均绝对位次变化", "en": "Mean absolute rank change"},
    "max_abs_rank_change": {"zh": "最大绝对位次变化", "en": "Largest absolute rank change"},
    "n_dims_inds": {"zh": "{d}个维度 · {i}项指标", "en": "{d} dimensions · {i} indicators"},
    "scores_in": {"zh": "{year}年得分", "en": "Scores, {year}"},
    "sensitivity": {"zh": "不确定性与敏感性分析", "en": "Uncertainty and sensitivity analysis"},
    "check_collinear": {"zh": "维度内高度共线", "en": "collinear within a dimension"},
    "check_outlier": {"zh": "离群值", "en": "outlier"},
    "check_denominator_correlation": {"zh": "与分母高度相关", "en": "correlated with its denominator"},
    "check_importance_gap": {"zh": "权重与重要性不符", "en": "weight and importance differ"},
    "check_stronger_with_other_dimension": {"zh": "与其他维度相关更强", "en": "stronger with another dimension"},
    "check_low_availability": {"zh": "数据可得性低", "en": "low availability"},
    "check_unit_coverage": {"zh": "单位覆盖不足", "en": "unit coverage"},
    "check_many_zeros": {"zh": "零值过多", "en": "many zeros"},
    "check_insignificant_with_parent": {"zh": "与上级相关不显著", "en": "insignificant with its parent"},
    "check_few_unique": {"zh": "不同取值过少", "en": "few unique values"},
    "check_negative_with_parent": {"zh": "与上级负相关", "en": "negative with its parent"},
    # audit flag messages, from each flag's fields (audit.py writes the English text into flags.csv)
    "flagmsg_low_availability": {"zh": "{node}：仅{share}的数值可得（{data}）", "en": "{node}: {share} of values available ({data})"},
    "flagmsg_many_zeros": {"zh": "{node}：可得数值中{share}为零（{data}）", "en": "{node}: {share} of available values are zero ({data})"},
    "flagmsg_few_unique": {"zh": "{node}：可得数值中仅{share}互不相同（{data}）", "en": "{node}: only {share} of available values are distinct ({data})"},
    "flagmsg_outlier": {"zh": "{node}：偏度{skew}（{data}），可能存在离群值", "en": "{node}: skew {skew} ({data}): possible outliers"},
    "flagmsg_unit_coverage": {"zh": "{node}：在{dims}中指标覆盖不足{limit}", "en": "{node}: below {limit} of indicators in {dims}"},
    "flagmsg_collinear": {"zh": "{node}与{other}在{group}内相关系数r = {r}，可能重复计算", "en": "{node} and {other} correlate at r = {r} within {group}: possible double counting"},
    "flagmsg_negative_with_parent": {"zh": "{node}与上级{other}负相关（r = {r}）", "en": "{node} correlates negatively with its parent {other} (r = {r})"},
    "flagmsg_insignificant_with_parent": {"zh": "{node}与上级{other}相关不显著（p = {p}）", "en": "{node} is not significantly correlated with its parent {other} (p = {p})"},
    "flagmsg_denominator_correlation": {"zh": "{node}与分母{other}相关系数r = {r}：可能是规模效应", "en": "{node} correlates with its denominator {other} at r = {r}: a size effect?"},
    "flagmsg_stronger_with_other_dimension": {"zh": "{node}与{other}的相关（r = {r}）强于与所属维度{group}的相关（r = {r_own}）", "en": "{node} correlates more with {other} (r = {r}) than with its own dimension {group} (r = {r_own})"},
    "flagmsg_importance_gap": {"zh": "{node}：相对重要性{importance}（与指数的r²），相对有效权重{weight}", "en": "{node}: relative importance {importance} (r² with the index) against relative effective weight {weight}"},
    "flagdata_raw": {"zh": "原始数据", "en": "raw data"},
    "flagdata_normalized": {"zh": "标准化数据", "en": "normalised data"},
    "flagdata_denominated": {"zh": "除以分母后的数据", "en": "data over denominators"},
    "flagdata_scores": {"zh": "得分", "en": "scores"},
    "r2": {"zh": "R²（与指数）", "en": "r² with the index"},
    "eta2": {"zh": "η²", "en": "η²"},
    "show_all": {"zh": "展开全部{n}条", "en": "Show all {n}"},
    # firm-level summary report (builds with many units)
    "distribution": {"zh": "得分分布", "en": "Score distribution"},
    "grades_page": {"zh": "等级分布", "en": "Grades"},
    "top_firms": {"zh": "领先企业", "en": "Top firms"},
    "separating": {"zh": "区分等级的指标", "en": "What separates grades"},
    "summary_note": {"zh": "本报告汇总全部{n}家企业的结果（得分分布、各类型企业等级、领先企业与区分等级的指标），不逐一生成企业页面；逐家企业的结果见计算文件夹中的数据表。", "en": "This report summarises all {n} firms (score distribution, grades by segment, top firms and the indicators that separate grades) instead of giving each firm a page; each firm's results are in the build folder's tables."},
    "firms_scored": {"zh": "{year}年参评企业", "en": "Firms scored, {year}"},
    "firms_scored_plain": {"zh": "参评企业", "en": "Firms scored"},
    "firms_in_all": {"zh": "{years}年 · 累计{n}家企业", "en": "{years} · {n} firms in all"},
    "firms": {"zh": "企业数", "en": "Firms"},
    "firm": {"zh": "企业", "en": "Firm"},
    "n_firms_short": {"zh": "{n}家", "en": "{n} firms"},
    "mean_score": {"zh": "平均分", "en": "Mean score"},
    "median_score": {"zh": "中位数", "en": "Median score"},
    "sd": {"zh": "标准差", "en": "SD"},
    "grade": {"zh": "等级", "en": "Grade"},
    "grade_x": {"zh": "{g}级", "en": "Grade {g}"},
    "share": {"zh": "占比", "en": "Share"},
    "grade_shares_by_year": {"zh": "各年企业数、得分与等级占比", "en": "Firms, scores and grade shares by year"},
    "grade_shares_note": {"zh": "等级占比为获评该等级的企业数除以当年获评等级的企业数，下方小字为企业数。", "en": "A grade's share is the firms with that grade over the firms graded that year; the count is below it."},
    "grade_shares_chart": {"zh": "各年等级占比", "en": "Grade shares by year"},
    "histogram": {"zh": "各年得分分布（企业数）", "en": "Distribution of scores by year (number of firms)"},
    "histogram_latest": {"zh": "{year}年得分分布（企业数）", "en": "Distribution of scores, {year} (number of firms)"},
    "score_band": {"zh": "分数段", "en": "Score band"},
    "quantiles": {"zh": "各年得分分位数", "en": "Score quantiles by year"},
    "quantiles_note": {"zh": "P5为第5百分位数，依此类推（线性插值）。", "en": "P5 is the 5th percentile, and so on (linear interpolation)."},
    "scores_by_segment": {"zh": "{year}年各类型企业得分", "en": "Scores by segment, {year}"},
    "grade_rules": {"zh": "等级划分规则", "en": "How grades are assigned"},
    "grade_basis_score": {"zh": "按{node}得分划分。", "en": "By the score of {node}."},
    "grade_basis_quantile": {"zh": "按各年{node}得分的位次比例划分。", "en": "By the share of firms from the top in each year, on the score of {node}."},
    "rule_at_least": {"zh": "≥ {c}", "en": "≥ {c}"},
    "rule_between": {"zh": "{lo} ≤ 得分 < {hi}", "en": "{lo} ≤ score < {hi}"},
    "rule_below": {"zh": "< {c}", "en": "< {c}"},
    "rule_top": {"zh": "前{p}", "en": "top {p}"},
    "rule_top_between": {"zh": "{lo}–{hi}", "en": "{lo} to {hi} from the top"},
    "rule_rest": {"zh": "其余（后{p}）", "en": "the rest (bottom {p})"},
    "grades_by_year": {"zh": "各年等级分布（企业数）", "en": "Grades by year (number of firms)"},
    "grades_by_segment": {"zh": "{year}年各类型企业的等级分布", "en": "Grades by segment, {year}"},
    "grades_by_segment_chart": {"zh": "{year}年各类型企业的等级占比", "en": "Grade shares by segment, {year}"},
    "segment": {"zh": "企业类型", "en": "Segment"},
    "segments": {"zh": "企业类型", "en": "Segments"},
    "segment_column": {"zh": "分组字段：{col}", "en": "Segment column: {col}"},
    "segment_none": {"zh": "（未分组）", "en": "(none)"},
    "all_firms": {"zh": "全部企业", "en": "All firms"},
    "top_n_in": {"zh": "{year}年得分前{n}名企业", "en": "Top {n} firms, {year}"},
    "top_note": {"zh": "按指数得分从高到低排列，排名取自计算结果（并列取最小名次）。", "en": "By index score, highest first; ranks are the build's (ties share the lowest rank)."},
    "separating_intro": {"zh": "{year}年各等级企业在每项指标上的平均标准化得分，以及最高与最低等级之差（按差值从大到小排列）。差值越大，该指标越能区分等级。", "en": "For {year}: each indicator's mean normalized score in each grade and the gap between the best and the worst grade, largest gap first. The larger the gap, the more the indicator separates the grades."},
    "quartile_groups_note": {"zh": "本次计算未设等级：企业按{year}年指数得分的四分位分组。", "en": "The build has no grades: firms are grouped by quartile of the {year} index score."},
    "quartile_1": {"zh": "前25%", "en": "Top 25%"},
    "quartile_2": {"zh": "25%–50%", "en": "25–50%"},
    "quartile_3": {"zh": "50%–75%", "en": "50–75%"},
    "quartile_4": {"zh": "后25%", "en": "Bottom 25%"},
    "gap": {"zh": "最高与最低等级之差", "en": "Gap, best − worst grade"},
    "gap_chart": {"zh": "各指标最高与最低等级的平均得分之差（{year}年）", "en": "Gap in mean normalized score between the best and the worst grade ({year})"},
    "nonzero_share": {"zh": "得分非零企业占比", "en": "Firms with points above zero"},
    "mean_by_grade": {"zh": "各等级平均标准化得分", "en": "Mean normalized score by grade"},
    "dims_by_grade": {"zh": "各维度平均得分（按等级）", "en": "Mean score of each dimension by grade"},
    "indicators_by_grade": {"zh": "各指标平均标准化得分（按等级）", "en": "Mean normalized score of each indicator by grade"},
    "segment_weights": {"zh": "各类型企业的权重", "en": "Weights by segment"},
    "segment_weights_note": {"zh": "{col}属于下列类型的企业使用相应权重，其余企业使用默认权重。表中为在上级中的权重与有效权重（占总指数）。", "en": "Firms whose {col} is one of these segments use its weights; other firms use the default weights. Each cell: weight within parent / effective weight in the index."},
    "default_weights": {"zh": "默认权重", "en": "Default weights"},
    "firms_by_segment": {"zh": "各类型企业数（{year}年）", "en": "Firms by segment ({year})"},
    "in_this_report": {"zh": "本报告内容", "en": "In this report"},
    # footer
    "footer_built": {"zh": "由 index_engine {version} 根据 {build} 的计算结果生成。", "en": "Generated by index_engine {version} from a build of {build}."},
    "illustrative": {"zh": "示例数据", "en": "Illustrative data"},
    "page_of_report": {"zh": "报告", "en": "Report"},
}

#: English for unit words a spec may give in Chinese (anything else is shown as given).
UNIT_EN: dict[str, str] = {
    "家": "firms",
    "户": "entities",
    "个": "",
    "人": "persons",
    "万人": "10,000 persons",
    "项": "items",
    "轮": "rounds",
    "件": "items",
    "笔": "transactions",
    "元": "yuan",
    "年": "years",
    "百分点": "pp",
    "个百分点": "pp",
    "基点": "bp",
}

#: Units of counted things: whole numbers are shown without decimals.
COUNT_UNITS = {"家", "户", "个", "人", "项", "件", "笔", "次", "count", "number"}

_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_PAREN = re.compile(r"^(?P<a>[^()（）]+?)\s*[(（](?P<b>[^()（）]+)[)）]$")

# amount units: unit -> (zh big unit, factor to it, en currency, factor to billions)
_AMOUNTS: dict[str, tuple[str, float, str, float]] = {
    "亿元": ("万亿元", 1e4, "CNY", 0.1),
    "亿美元": ("万亿美元", 1e4, "USD", 0.1),
    "万元": ("亿元", 1e4, "CNY", 1e-5),
}


def t(key: str, lang: str, **kw: Any) -> str:
    """The interface string ``key`` in ``lang``, with ``{name}`` fields filled from ``kw``.

    >>> t("rank_of", "en", r=2, n=13)
    'rank 2 of 13'
    """
    try:
        s = STRINGS[key][lang]
    except KeyError:
        raise KeyError(f"no interface string {key!r} for language {lang!r}") from None
    return s.format(**kw) if kw else s


def is_missing(v: Any) -> bool:
    if v is None or (isinstance(v, str) and not v.strip()):  # an empty CSV cell read as text
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v)) or (v != v)  # noqa: PLR0124 - NaN, pd.NA
    except TypeError:  # pd.NA
        return True


def auto_digits(v: float) -> int:
    a = abs(v)
    return 0 if a >= 1000 else 1 if a >= 10 else 2


def fmt_num(v: Any, digits: int | None = None) -> str:
    """``1,234.5``: thousands separators, ``digits`` decimals (default: by magnitude)."""
    if is_missing(v):
        return MISSING
    v = float(v)
    if v == 0 and digits is None:
        return "0"
    d = auto_digits(v) if digits is None else digits
    s = f"{v:,.{d}f}"
    if s.startswith("-") and float(s[1:].replace(",", "")) == 0:
        s = s[1:]  # no "-0.0"
    return s


def fmt_signed(v: Any, digits: int = 1) -> str:
    """A change: ``+1.2``, ``-0.4``, ``0.0``."""
    if is_missing(v):
        return MISSING
    v = float(v)
    if round(v, digits) == 0:
        return f"{0:.{digits}f}"
    return f"{v:+,.{digits}f}"


def fmt_int_signed(v: Any) -> str:
    """A rank change, as places gained (``+2``) or lost (``-1``)."""
    if is_missing(v):
        return MISSING
    v = int(round(float(v)))
    return f"{v:+d}" if v else "0"


def fmt_pct(v: Any, lang: str = "en", digits: int = 1) -> str:
    """A fraction as a percentage: 0.103 -> ``10.3%``."""
    if is_missing(v):
        return MISSING
    return f"{float(v) * 100:,.{digits}f}%"


def fmt_rank(v: Any) -> str:
    if is_missing(v):
        return MISSING
    return str(int(round(float(v))))


@functools.lru_cache(maxsize=1024)  # asked for each value a page formats; a report has a few units
def is_rank_unit(unit: str | None) -> bool:
    u = (unit or "").strip().lower()
    return u.startswith("位次") or u.startswith("排名") or u == "rank" or u.startswith("rank ")


@functools.lru_cache(maxsize=1024)
def unit_label(unit: str | None, lang: str) -> str:
    """The unit of measure as a column heading shows it."""
    if not unit:
        return ""
    unit = str(unit).strip()
    m = _PAREN.match(unit)
    if lang == "zh":
        return m.group("a") if m and _CJK.search(m.group("a")) and not _CJK.search(m.group("b")) else unit
    if unit in _AMOUNTS:
        cur = _AMOUNTS[unit][2]
        return f"{cur} bn"
    if unit in UNIT_EN:
        return UNIT_EN[unit]
    if m and _CJK.search(m.group("a")) and not _CJK.search(m.group("b")):
        return m.group("b")
    return unit


def axis_unit(unit: str | None, lang: str) -> str:
    """The unit as a chart axis shows it: the values there are as the data gives them (e.g. in 亿元)."""
    if not unit:
        return ""
    unit = str(unit).strip()
    if lang == "en" and unit in _AMOUNTS:
        cur, to_bn = _AMOUNTS[unit][2], _AMOUNTS[unit][3]
        size = {0.1: "100 mn", 1e-5: "10,000"}.get(to_bn, "")
        return f"{cur} {size}".strip()
    return unit_label(unit, lang)


def fmt_qty(v: Any, unit: str | None, lang: str, digits: int | None = None) -> str:
    """A value with its unit of measure, in the locale's style (see the module docstring)."""
    if is_missing(v):
        return MISSING
    v = float(v)
    unit = (unit or "").strip()
    if not unit:
        return fmt_num(v, digits)
    if unit in _AMOUNTS:
        big, to_big, cur, to_bn = _AMOUNTS[unit]
        if lang == "zh":
            if abs(v) >= to_big or abs(round(v, auto_digits(v) if digits is None else digits)) >= to_big:
                return f"{fmt_num(v / to_big, 2 if digits is None else digits)}{big}"
            return f"{fmt_num(v, digits)}{unit}"
        bn = v * to_bn
        if abs(bn) >= 1000 or abs(round(bn, auto_digits(bn) if digits is None else digits)) >= 1000:
            return f"{cur} {fmt_num(bn / 1000, 2 if digits is None else digits)} trn"
        if abs(bn) < 0.1 and bn != 0:
            return f"{cur} {fmt_num(bn * 1000, digits)} mn"
        return f"{cur} {fmt_num(bn, digits)} bn"
    if unit == "%":
        return f"{fmt_num(v, 1 if digits is None else digits)}%"
    if is_rank_unit(unit):
        r = fmt_rank(v)
        return f"第{r}位" if lang == "zh" else f"rank {r}"
    label = unit_label(unit, lang)
    if digits is None and unit in COUNT_UNITS and float(v).is_integer():
        digits = 0
    num = fmt_num(v, digits)
    if not label:
        return num
    if lang == "zh" and _CJK.search(label[:1]):
        m = _PAREN.match(label)
        return f"{num}{m.group('a') if m else label}"
    return f"{num} {label}"


def has_cjk(text: Any) -> bool:
    """Whether ``text`` holds a Chinese (CJK) character."""
    return bool(_CJK.search(str(text or "")))


def column_unit(values: Any, unit: str | None, lang: str) -> tuple[str, Any]:
    """One unit for a whole table column: ``(heading unit, cell formatter)``; the cells are plain
    numbers in that unit, so a column never mixes 万亿元 and 亿元.

    >>> head, f = column_unit([45200, 2246], "亿元", "zh")
    >>> head, f(45200), f(2246)
    ('万亿元', '4.52', '0.22')
    >>> head, f = column_unit([2246, 154.8], "亿元", "en")
    >>> head, f(2246), f(154.8)
    ('CNY bn', '224.6', '15.5')
    """
    vals = [abs(float(v)) for v in values if not is_missing(v)]
    top = max(vals) if vals else 0.0
    unit = (unit or "").strip()
    if unit in _AMOUNTS:
        big, to_big, cur, to_bn = _AMOUNTS[unit]
        if lang == "zh":
            if top >= to_big:
                return big, lambda v: fmt_num(None if is_missing(v) else float(v) / to_big, 2)
            return unit, lambda v: fmt_num(v, 1 if top < 1000 else 0)
        if top * to_bn >= 1000:
            return f"{cur} trn", lambda v: fmt_num(None if is_missing(v) else float(v) * to_bn / 1000, 2)
        return f"{cur} bn", lambda v: fmt_num(None if is_missing(v) else float(v) * to_bn, 1 if top * to_bn >= 1 else 3)
    if is_rank_unit(unit):
        return unit_label(unit, lang), fmt_rank
    if unit in COUNT_UNITS:
        return unit_label(unit, lang), lambda v: fmt_num(v, 0 if top >= 100 else None)
    digits = auto_digits(top) if vals else None
    return unit_label(unit, lang), lambda v: fmt_num(v, digits)


def basis_label(denominator: str | None, scale: float | None, transform: str | None, lang: str) -> str:
    """The heading of the value an indicator's score is computed from, e.g. ``占GDP比重（%）``."""
    if denominator:
        if scale == 100:
            return t("basis_share", lang, den=denominator)
        if scale == 1000:
            return t("basis_per_thousand", lang, den=denominator)
        if scale in (None, 1):
            return t("basis_ratio", lang, den=denominator)
        return t("basis_scaled", lang, den=denominator, scale=fmt_num(scale))
    return t("basis_transformed", lang, method=transform or "")


def pick_text(obj: Any, field: str, lang: str) -> str:
    """A text of the spec or the data in ``lang``: ``<field>_<lang>``, else ``<field>`` when it is written in
    that language's script (no Chinese on an English page; on a Chinese page no English prose, i.e.
    no run of lower-case words), else ''. A page never shows the other language's text.

    >>> pick_text({"source": "Wind; 北京证监局"}, "source", "zh"), pick_text({"source": "Wind; 北京证监局"}, "source", "en")
    ('Wind; 北京证监局', '')
    """
    get = obj.get if isinstance(obj, dict) else lambda k, d=None: getattr(obj, k, d)
    own = get(f"{field}_{lang}", None)
    if isinstance(own, str) and own.strip():
        return own
    text = get(field, None)
    if not isinstance(text, str) or not text.strip():
        return ""
    return text if in_script(text, lang) else ""


_ENGLISH_WORD = re.compile(r"(?<![A-Za-z_])[a-z]{4,}(?![A-Za-z_])")


def in_script(text: Any, lang: str) -> bool:
    """Whether ``text`` reads as ``lang``: on ``en`` no Chinese character; on ``zh`` no English word
    (a lower-case word of four letters or more; codes, units and capitalised proper names are allowed)."""
    text = str(text or "")
    return not has_cjk(text) if lang == "en" else not _ENGLISH_WORD.search(text)


def pick_name(obj: Any, lang: str, fallback: str = "") -> str:
    """``name_zh``/``name_en`` of a mapping or object in ``lang``, else the other, else ``fallback``."""
    get = obj.get if isinstance(obj, dict) else lambda k, d=None: getattr(obj, k, d)
    first, second = ("name_zh", "name_en") if lang == "zh" else ("name_en", "name_zh")
    for key in (first, second):
        v = get(key, None)
        if isinstance(v, str) and v.strip():
            return v
    return fallback or str(get("code", "") or "")


_PATH = re.compile(r"(?:[\w.~-]*/)+([\w.-]+)")


def without_folders(text: str) -> str:
    """``text`` with every file path cut to its file name (a page shows no folders of the machine that built it).

    >>> without_folders("/srv/x/weights/../inputs/panel.csv: indicator 'A' has no value")
    "panel.csv: indicator 'A' has no value"
    """
    return _PATH.sub(r"\1", str(text))
