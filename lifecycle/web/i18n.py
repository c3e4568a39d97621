"""Labels of the web pages in English and Simplified Chinese, and the choice of a request's language.

One small catalog (key → English, Chinese) kept apart from the document labels: pages and PDFs
speak to different readers. The language follows the signed-in user's locale, else the browser's
``Accept-Language``; a missing key is an error in tests rather than an empty label on a page.
"""

from __future__ import annotations

from collections.abc import Callable

LABELS: dict[str, tuple[str, str]] = {
    "app.name": ("PMO Lifecycle", "PMO 项目生命周期"),
    "nav.portfolio": ("Portfolio", "项目组合"),
    "nav.rules": ("Rules", "规则"),
    "nav.signout": ("Sign out", "退出"),
    "nav.signed_in_as": ("Signed in as", "当前用户"),
    "login.title": ("Sign in", "登录"),
    "login.email": ("E-mail", "邮箱"),
    "login.password": ("Password", "密码"),
    "login.submit": ("Sign in", "登录"),
    "login.oidc": ("Sign in with your company", "使用企业账号登录"),
    "login.failed": ("Wrong e-mail or password.", "邮箱或密码错误。"),
    "login.limited": (
        "Too many failed sign-ins. Try again in a few minutes.",
        "登录失败次数过多，请几分钟后再试。",
    ),
    "login.sso_failed": ("Sign-in with your company did not succeed.", "企业账号登录未成功。"),
    "login.or": ("or", "或"),
    "portfolio.title": ("Portfolio", "项目组合"),
    "portfolio.count": ("{shown} of {total} projects", "共 {total} 个项目，显示 {shown} 个"),
    "portfolio.sweeping": (
        "Gate sweep running: {done} of {total} projects evaluated. This page refreshes itself.",
        "正在评估阶段关口：已完成 {done} / {total} 个项目，本页会自动刷新。",
    ),
    "portfolio.not_swept": ("not yet evaluated", "尚未评估"),
    "portfolio.empty": ("No projects match.", "没有符合条件的项目。"),
    "filter.phase": ("Phase", "阶段"),
    "filter.rag": ("Health", "健康度"),
    "filter.q": ("Search", "搜索"),
    "filter.sort": ("Sort by", "排序"),
    "filter.desc": ("descending", "降序"),
    "filter.any": ("any", "全部"),
    "filter.apply": ("Apply", "应用"),
    "col.code": ("Code", "编号"),
    "col.name": ("Project", "项目"),
    "col.client": ("Client", "客户"),
    "col.phase": ("Phase", "阶段"),
    "col.rag": ("Health", "健康度"),
    "col.progress": ("Progress", "进度"),
    "col.spi": ("SPI", "SPI"),
    "col.cpi": ("CPI", "CPI"),
    "col.risks": ("High risks", "高风险"),
    "col.milestone": ("Next milestone", "下一里程碑"),
    "col.gate": ("Next gate", "下一关口"),
    "col.decision": ("Decision", "决策"),
    "col.id": ("ID", "编号"),
    "col.title": ("Title", "标题"),
    "col.score": ("Score", "分值"),
    "col.owner": ("Owner", "负责人"),
    "col.strategy": ("Response", "应对"),
    "col.status": ("Status", "状态"),
    "col.date": ("Date", "日期"),
    "col.due": ("Due", "截止"),
    "col.kind": ("Kind", "类型"),
    "col.number": ("Number", "编号"),
    "col.issued": ("Issued", "签发时间"),
    "col.action": ("Action", "操作"),
    "col.actor": ("By", "操作人"),
    "col.entity": ("Item", "对象"),
    "col.percent": ("% complete", "完成百分比"),
    "col.severity": ("Severity", "严重程度"),
    "col.source": ("Source", "来源"),
    "col.outcome": ("Result", "结果"),
    "col.evidence": ("Evidence", "证据"),
    "col.role": ("Role", "角色"),
    "col.comment": ("Comment", "意见"),
    "rag.red": ("red", "红"),
    "rag.amber": ("amber", "黄"),
    "rag.green": ("green", "绿"),
    "decision.go": ("go", "通过"),
    "decision.conditional_go": ("conditional go", "有条件通过"),
    "decision.no_go": ("no-go", "不通过"),
    "outcome.pass": ("pass", "通过"),
    "outcome.fail": ("fail", "未通过"),
    "outcome.error": ("error", "错误"),
    "outcome.waived": ("waived", "已豁免"),
    "outcome.skipped": ("not applicable", "不适用"),
    "project.charter": ("Charter", "项目章程"),
    "project.objectives": ("Objectives", "目标"),
    "project.scope_in": ("In scope", "范围内"),
    "project.scope_out": ("Out of scope", "范围外"),
    "project.sponsor": ("Sponsor", "发起人"),
    "project.project_manager": ("Project manager", "项目经理"),
    "project.client_representative": ("Client representative", "客户代表"),
    "project.your_roles": ("Your roles", "您的角色"),
    "project.path": ("Phase path", "阶段路径"),
    "project.history": ("Phase history", "阶段变更记录"),
    "project.gantt": ("Schedule and critical path", "进度计划与关键路径"),
    "project.evm": ("Earned value", "挣值"),
    "project.risks": ("Risks", "风险"),
    "project.milestones": ("Milestones", "里程碑"),
    "project.deliverables": ("Deliverables", "交付物"),
    "project.documents": ("Documents", "文档"),
    "project.audit": ("Audit trail (latest 50)", "审计记录（最近 50 条）"),
    "project.open_gate": ("Open the gate", "查看关口"),
    "project.record_progress": ("Record progress", "填报进度"),
    "project.none": ("None.", "无。"),
    "project.download": ("Download", "下载"),
    "project.verify": ("Verify", "校验"),
    "evm.pv": ("Planned value (PV)", "计划价值 (PV)"),
    "evm.ev": ("Earned value (EV)", "挣值 (EV)"),
    "evm.ac": ("Actual cost (AC)", "实际成本 (AC)"),
    "evm.spi": ("SPI", "进度绩效指数 SPI"),
    "evm.cpi": ("CPI", "成本绩效指数 CPI"),
    "evm.eac": ("Estimate at completion (EAC)", "完工估算 (EAC)"),
    "evm.progress": ("Progress (planned)", "进度（计划）"),
    "gate.title": ("Gate", "阶段关口"),
    "gate.decision": ("Decision", "决策"),
    "gate.rules": ("Criteria", "评审标准"),
    "gate.approvals": ("Approvals", "审批"),
    "gate.requirement": ("Required", "要求"),
    "gate.given": ("Given", "已审批"),
    "gate.missing": ("Missing", "尚缺"),
    "gate.none_given": ("No approval yet.", "尚无审批。"),
    "gate.void_note": (
        "An approval counts only for the project as it was when it was given: any change to the project "
        "voids it, and the approvers must approve again.",
        "审批仅对审批时的项目版本有效：项目的任何变更都会使其失效，需要重新审批。",
    ),
    "gate.voided": ("{n} earlier approval(s) were voided by later changes.", "有 {n} 项早先的审批因后续变更而失效。"),
    "gate.approve_as": ("Approve as {role}", "以{role}身份批准"),
    "gate.reject_as": ("Reject as {role}", "以{role}身份驳回"),
    "gate.comment": ("Comment", "意见"),
    "gate.waive": ("Waive", "豁免"),
    "gate.waiver_reason": ("Reason", "理由"),
    "gate.waiver_until": ("Expires on", "有效期至"),
    "gate.waiver_role": ("As", "身份"),
    "gate.waiver_max": ("At most {n} days.", "最长 {n} 天。"),
    "gate.waived_by": ("Waived by {who} until {until}: {reason}", "由 {who} 豁免至 {until}：{reason}"),
    "gate.advance": ("Advance to {phase}", "推进到{phase}"),
    "gate.advance_reason": ("Reason", "理由"),
    "gate.blocked": ("The gate does not allow advancing yet.", "关口尚不允许推进。"),
    "gate.no_gate": ("This project has no next gate.", "该项目没有下一个关口。"),
    "done.approved": ("Your approval is recorded.", "您的审批已记录。"),
    "done.rejected": ("Your rejection is recorded.", "您的驳回已记录。"),
    "done.waived": ("The waiver is recorded.", "豁免已记录。"),
    "done.advanced": ("The project advanced.", "项目已推进。"),
    "done.progress": ("Progress saved: {n} task(s) changed.", "进度已保存：{n} 项任务有变化。"),
    "progress.title": ("Record progress", "填报进度"),
    "progress.save": ("Save progress", "保存进度"),
    "rules.title": ("Rule pack", "规则包"),
    "rules.tests": ("Tests of the pack", "规则包测试"),
    "rules.tests_result": ("{passed} passed, {failed} failed", "{passed} 项通过，{failed} 项失败"),
    "rules.diff": ("Review a new pack", "审阅新规则包"),
    "rules.diff_path": ("Pack folder on the server", "服务器上的规则包目录"),
    "rules.diff_run": ("Compare", "比较"),
    "rules.diff_none": (
        "No project's decision would change ({n} compared).",
        "没有项目的决策会改变（共比较 {n} 个项目）。",
    ),
    "rules.diff_some": ("{k} of {n} projects would change:", "{n} 个项目中有 {k} 个会改变："),
    "rules.old": ("Now", "当前"),
    "rules.new": ("With the new pack", "使用新规则包"),
    "accept.title": ("Acceptance", "验收"),
    "accept.intro": (
        "Please review the certificate and give your answer for each deliverable.",
        "请审阅验收单，并对每项交付物给出意见。",
    ),
    "accept.document": ("Certificate", "验收单"),
    "accept.open_pdf": ("Open the PDF", "打开 PDF"),
    "accept.facts": ("Key facts", "要点"),
    "accept.milestone": ("Milestone", "里程碑"),
    "accept.criteria": ("Acceptance criteria", "验收标准"),
    "accept.verdict.accept": ("Accept", "接受"),
    "accept.verdict.accept_with_conditions": ("Accept with conditions", "有条件接受"),
    "accept.verdict.reject": ("Reject", "拒绝"),
    "accept.comment": ("Comment (required for conditions or a rejection)", "意见（有条件接受或拒绝时必填）"),
    "accept.confirm_name": ("Your full name, as confirmation", "请输入您的姓名以确认"),
    "accept.submit": ("Send my answer", "提交答复"),
    "accept.thanks": ("Thank you: your answer is recorded.", "谢谢，您的答复已记录。"),
    "accept.countersigned": (
        "A countersigned copy of the certificate is on its way to you by e-mail.",
        "加签后的验收单副本将通过邮件发送给您。",
    ),
    "accept.invalid": ("This link cannot be used.", "此链接无法使用。"),
    "accept.used": (
        "This link was already used: an answer was recorded. Nothing more was recorded now.",
        "此链接已使用过，答复已记录。本次未记录任何内容。",
    ),
    "accept.expired": (
        "This link has expired. Nothing was recorded. Please ask the project manager for a new link.",
        "此链接已过期，未记录任何内容。请联系项目经理获取新链接。",
    ),
    "accept.bad": (
        "This link is not valid. Nothing was recorded.",
        "此链接无效，未记录任何内容。",
    ),
    "error.forbidden": ("You may not do this.", "您无权执行此操作。"),
    "error.not_found": ("Not found.", "未找到。"),
    "error.csrf": (
        "The form expired or did not come from this site. Reload the page and try again.",
        "表单已过期或并非来自本站，请刷新页面后重试。",
    ),
    "error.title": ("Something is not right", "出现问题"),
    "error.back": ("Back", "返回"),
}


def lang_for(locale: str | None, accept_language: str = "") -> str:
    """``zh`` or ``en``: the user's locale when known, else the browser's first preference we speak."""
    if locale:
        return "zh" if locale.lower().startswith("zh") else "en"
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang``; an unknown key raises KeyError (caught by the tests)."""
    index = 1 if lang == "zh" else 0

    def t(key: str, **values: object) -> str:
        text = LABELS[key][index]
        return text.format(**values) if values else text

    return t
