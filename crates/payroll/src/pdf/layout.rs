//! Page layout: header, employee block, earnings and deductions side by side,
//! totals, net pay with words, footer.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use slipgate_proto::{LineItem, Slip};

use super::font::FontUse;
use super::{A4_HEIGHT, A4_WIDTH, PdfError, PdfRenderer};

const MARGIN: f32 = 50.0;
const RIGHT: f32 = A4_WIDTH - MARGIN;
const MID: f32 = A4_WIDTH / 2.0;
const MIN_SIZE: f32 = 4.0;
const F_REGULAR: Name<'static> = Name(b"F1");
const F_BOLD: Name<'static> = Name(b"F2");

#[derive(Clone, Copy)]
enum Style {
    Regular,
    Bold,
}

struct Page<'f> {
    content: Content,
    regular: FontUse<'f>,
    bold: FontUse<'f>,
}

impl<'f> Page<'f> {
    fn font(&mut self, style: Style) -> (&mut FontUse<'f>, Name<'static>) {
        match style {
            Style::Regular => (&mut self.regular, F_REGULAR),
            Style::Bold => (&mut self.bold, F_BOLD),
        }
    }

    fn width(&mut self, style: Style, text: &str, size: f32) -> f32 {
        self.font(style).0.face().width(text, size)
    }

    /// The largest size ≤ `size` at which `text` fits in `max_width`.
    fn fit(&mut self, style: Style, text: &str, size: f32, max_width: f32) -> f32 {
        let w = self.width(style, text, size);
        if w <= max_width || w <= 0.0 { size } else { (size * max_width / w).max(MIN_SIZE) }
    }

    fn text(&mut self, style: Style, size: f32, x: f32, y: f32, text: &str) {
        let (font, name) = self.font(style);
        let bytes = font.encode(text);
        self.content.begin_text().set_font(name, size).next_line(x, y).show(Str(&bytes)).end_text();
    }

    /// `text` shrunk to fit between `x` and `x + max_width`.
    fn text_fit(&mut self, style: Style, size: f32, x: f32, y: f32, max_width: f32, text: &str) {
        let size = self.fit(style, text, size, max_width);
        self.text(style, size, x, y, text);
    }

    fn text_right(&mut self, style: Style, size: f32, right: f32, y: f32, text: &str) {
        let w = self.width(style, text, size);
        self.text(style, size, right - w, y, text);
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.content.set_line_width(0.6).move_to(x1, y).line_to(x2, y).stroke();
    }

    fn band(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.content.set_fill_gray(0.9).rect(x, y, w, h).fill_nonzero().set_fill_gray(0.0);
    }
}

pub(super) fn render(r: &PdfRenderer, slip: &Slip) -> Result<Vec<u8>, PdfError> {
    let mut page =
        Page { content: Content::new(), regular: FontUse::new(&r.regular), bold: FontUse::new(&r.bold) };
    let p = &mut page;
    let mut y = A4_HEIGHT - MARGIN;

    let company = r.company.as_deref().unwrap_or("Slipgate");
    p.text_fit(Style::Bold, 16.0, MARGIN, y, RIGHT - MARGIN, company);
    y -= 22.0;
    let title = format!("Salary slip for {}", month_title(&slip.period.month));
    p.text(Style::Bold, 13.0, MARGIN, y, &title);
    y -= 12.0;
    p.rule(MARGIN, RIGHT, y);

    y -= 20.0;
    let e = &slip.employee;
    let label_w = 90.0;
    p.text(Style::Regular, 10.0, MARGIN, y, "Employee name");
    p.text_fit(Style::Bold, 10.0, MARGIN + label_w, y, RIGHT - MARGIN - label_w, &e.emp_name);
    let basis = slip.period.basis_days.to_string();
    let worked = slip.period.working_days.to_string();
    let pairs: [[(&str, &str); 2]; 3] = [
        [("Employee ID", &e.emp_id), ("Pay period", &slip.period.month)],
        [("Employee code", &e.emp_code), ("Basis days", &basis)],
        [("Grade", &e.emp_grade), ("Working days", &worked)],
    ];
    for row in pairs {
        y -= 15.0;
        for ((label, value), x) in row.into_iter().zip([MARGIN, MID + 6.0]) {
            p.text(Style::Regular, 10.0, x, y, label);
            p.text_fit(Style::Regular, 10.0, x + label_w, y, MID - MARGIN - label_w - 12.0, value);
        }
    }

    y -= 28.0;
    let amount_head = format!("Amount ({})", slip.currency);
    let columns = [(MARGIN, MID - 5.5, "Earnings"), (MID + 5.5, RIGHT, "Deductions")];
    for (x1, x2, head) in columns {
        p.band(x1, y - 5.0, x2 - x1, 18.0);
        p.text(Style::Bold, 10.0, x1 + 6.0, y, head);
        p.text_right(Style::Bold, 10.0, x2 - 6.0, y, &amount_head);
    }
    let rows = slip.earnings.len().max(slip.deductions.len()).max(1);
    // Room for rows down to the totals/net/footer area: keep one page.
    let step = (300.0 / rows as f32).clamp(6.0, 16.0);
    let size = (step * 0.65).min(10.0);
    for (items, (x1, x2, _)) in [(&slip.earnings, columns[0]), (&slip.deductions, columns[1])] {
        let mut row_y = y - 4.0;
        for item in items {
            row_y -= step;
            line_item(p, item, x1, x2, row_y, size);
        }
    }
    y -= 4.0 + step * rows as f32 + 10.0;
    p.rule(MARGIN, RIGHT, y + 8.0);
    let totals = [("Gross earnings", &slip.gross_earnings), ("Total deductions", &slip.total_deductions)];
    for ((label, amount), (x1, x2, _)) in totals.into_iter().zip(columns) {
        p.text(Style::Bold, 10.0, x1 + 6.0, y - 6.0, label);
        p.text_right(Style::Bold, 10.0, x2 - 6.0, y - 6.0, amount);
    }

    y -= 40.0;
    p.band(MARGIN, y - 7.0, RIGHT - MARGIN, 24.0);
    p.text(Style::Bold, 12.0, MARGIN + 6.0, y, "Net pay");
    p.text_right(Style::Bold, 12.0, RIGHT - 6.0, y, &format!("{} {}", slip.currency, slip.net_pay));
    y -= 24.0;
    p.text(Style::Regular, 10.0, MARGIN, y, "In words:");
    for line in wrap(p, &slip.net_pay_in_words, 10.0, RIGHT - MARGIN - 55.0) {
        p.text(Style::Regular, 10.0, MARGIN + 55.0, y, &line);
        y -= 13.0;
    }

    let footer = [
        format!("Slip ID: {}", slip.slip_id),
        format!("Generated at: {}", slip.generated_at),
        "This is a computer-generated salary slip and needs no signature.".to_owned(),
    ];
    let mut fy = MARGIN + 24.0;
    for line in footer {
        p.text_fit(Style::Regular, 8.0, MARGIN, fy, RIGHT - MARGIN, &line);
        fy -= 12.0;
    }

    finish(page, &slip.slip_id)
}

fn line_item(p: &mut Page<'_>, item: &LineItem, x1: f32, x2: f32, y: f32, size: f32) {
    let amount_w = p.width(Style::Regular, &item.amount, size);
    p.text_fit(Style::Regular, size, x1 + 6.0, y, x2 - x1 - amount_w - 20.0, &item.label);
    p.text_right(Style::Regular, size, x2 - 6.0, y, &item.amount);
}

/// Greedy word wrap; a single over-long word shrinks nothing and just overflows
/// its line, which the bounded words of an amount never do.
fn wrap(p: &mut Page<'_>, text: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if !line.is_empty() && p.width(Style::Regular, &candidate, size) > max_width {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// "2025-05" → "May 2025"; anything else is shown as given.
fn month_title(month: &str) -> String {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match slipgate_proto::parse_period(month) {
        Some((y, m)) => NAMES.get(usize::from(m) - 1).map_or(month.to_owned(), |n| format!("{n} {y}")),
        None => month.to_owned(),
    }
}

fn finish(page: Page<'_>, slip_id: &str) -> Result<Vec<u8>, PdfError> {
    let mut next = 1;
    let mut alloc = move || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let (catalog, pages, page_id, content_id, info) = (alloc(), alloc(), alloc(), alloc(), alloc());
    let (regular_id, bold_id) = (alloc(), alloc());

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page_id]).count(1);
    let mut pg = pdf.page(page_id);
    pg.media_box(Rect::new(0.0, 0.0, A4_WIDTH, A4_HEIGHT)).parent(pages).contents(content_id);
    pg.resources().fonts().pair(F_REGULAR, regular_id).pair(F_BOLD, bold_id);
    pg.finish();
    let content = page.content.finish();
    pdf.stream(content_id, &content);
    pdf.document_info(info)
        .title(TextStr("Salary slip"))
        .subject(TextStr(slip_id))
        .producer(TextStr("Slipgate"));
    page.regular.write(&mut pdf, regular_id, &mut alloc)?;
    page.bold.write(&mut pdf, bold_id, &mut alloc)?;
    Ok(pdf.finish())
}
