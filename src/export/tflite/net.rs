//! The network a TF-Lite export writes, as plain data: values with their shapes (NHWC maps,
//! `[1, width]` rows) and the operators between them, weights already in TF-Lite's layouts. The
//! builder makes it from the app's modules, calibration runs it, the writer serializes it.

/// Index of a value of a [`Net`].
pub type Id = usize;

/// An activation fused into a convolution or dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// None.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

/// A convolution with `SAME` padding (TensorFlow's, as the app's convolutions pad).
#[derive(Debug, Clone)]
pub struct Conv {
    /// `[out, k, k, in]` (OHWI), or `[1, k, k, channels]` when depthwise.
    pub filter: Vec<f32>,
    /// The filter's shape.
    pub shape: [usize; 4],
    /// One per output channel.
    pub bias: Vec<f32>,
    /// Stride in both directions.
    pub stride: usize,
    /// Whether each channel is convolved alone (depth multiplier 1).
    pub depthwise: bool,
    /// What follows it.
    pub activation: Activation,
}

/// A fully connected layer.
#[derive(Debug, Clone)]
pub struct Dense {
    /// `[out, in]`, row-major.
    pub weight: Vec<f32>,
    /// `[out, in]`.
    pub shape: [usize; 2],
    /// One per output.
    pub bias: Vec<f32>,
    /// What follows it.
    pub activation: Activation,
}

/// What an operator computes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A convolution.
    Conv(Box<Conv>),
    /// A fully connected layer.
    Dense(Box<Dense>),
    /// `a + b`, of one shape.
    Add,
    /// `a - b`, of one shape.
    Sub,
    /// `x - c`, `c` along the last axis.
    SubConstant(Vec<f32>),
    /// The mean over height and width: `[1, h, w, c]` → `[1, c]`.
    Mean,
    /// 2 × 2 max pooling, stride 2.
    MaxPool,
    /// The same values in the output's shape (row-major, so NHWC order).
    Reshape,
    /// `max(x, 0)`.
    Relu,
    /// `|x|`.
    Abs,
    /// `√x`.
    Sqrt,
    /// `1 / √x`.
    Rsqrt,
    /// `a · b`, `b` of the first's shape or one value per row.
    Mul,
    /// The sum of each row: `[1, width]` → `[1, 1]`.
    Sum,
    /// Rows joined along the last axis.
    Concat,
    /// Softmax along the last axis.
    Softmax,
    /// The `k`th largest value of each row: `[1, width]` → `[1, 1]`.
    KthLargest(usize),
    /// `1` where `x ≥ t` (`t` one value per row), else `0`.
    AtLeast,
    /// `x · c`.
    Scale(f32),
    /// `a / b`, `b` one value per row.
    Div,
    /// `bonus` at each row's largest value (the last of equal ones), `0` elsewhere.
    WinnerBonus(f32),
}

/// One operator: what it computes, what it reads, what it writes.
#[derive(Debug, Clone)]
pub struct Op {
    /// What it computes.
    pub kind: Kind,
    /// The values it reads.
    pub inputs: Vec<Id>,
    /// The value it writes.
    pub output: Id,
}

/// A network from one normalized image (value 0, `[1, size, size, 3]`) to class probabilities.
#[derive(Debug, Clone, Default)]
pub struct Net {
    /// The shape of every value.
    pub shapes: Vec<Vec<usize>>,
    /// The operators, in execution order.
    pub ops: Vec<Op>,
}

impl Net {
    /// A network whose input is an image of `size` × `size` pixels.
    pub fn new(size: usize) -> Self {
        Self {
            shapes: vec![vec![1, size, size, 3]],
            ops: Vec::new(),
        }
    }

    /// Appends an operator writing a new value of `shape`; returns that value.
    pub fn push(&mut self, kind: Kind, inputs: &[Id], shape: Vec<usize>) -> Id {
        let output = self.shapes.len();
        self.shapes.push(shape);
        self.ops.push(Op {
            kind,
            inputs: inputs.to_vec(),
            output,
        });
        output
    }

    /// An elementwise operator: the output has the first input's shape.
    pub fn same(&mut self, kind: Kind, inputs: &[Id]) -> Id {
        let shape = self.shapes[inputs[0]].clone();
        self.push(kind, inputs, shape)
    }

    /// The value the last operator writes: the network's output.
    pub fn output(&self) -> Id {
        self.shapes.len() - 1
    }
}
