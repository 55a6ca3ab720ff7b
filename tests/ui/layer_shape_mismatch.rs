// Two layers whose shapes do not fit: conv2d gives 8 channels of 6x6, the next conv2d expects
// 4 channels. The mismatch is a compile error, not a run-time panic.
use autodiff::nn::{self, Filters, Image, Tensor, Vector};

fn main() {
    let x: Image<f32, 1, 8, 8> = Tensor::zeros();
    let w1: Filters<f32, 8, 1, 3, 3> = Tensor::zeros();
    let b1: Vector<f32, 8> = Tensor::zeros();
    let w2: Filters<f32, 16, 4, 3, 3> = Tensor::zeros();
    let b2: Vector<f32, 16> = Tensor::zeros();
    let h = nn::conv2d::<f32, 1, 8, 8, 8, 3, 3, 1, 0, 6, 6>(&x, &w1, &b1);
    let _y = nn::conv2d::<f32, 4, 6, 6, 16, 3, 3, 1, 0, 4, 4>(&h, &w2, &b2);
}
